#!/bin/sh
# bundle.sh — build what the GPU check needs, with nvcc, into .device/ at the repository root
# as .device/bundle.tar.xz (ignored by git; the device tool carries it).  The device machine has CUDA, PyTorch and
# transformers but none of our C libraries, and no package registry: the tools are built here
# (x86-64-v3, so any recent x86 server runs them; AVX-512 paths are chosen at run time) and the
# shared libraries they need, except the C library and CUDA's own, are copied beside them.
set -eu
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
out=$root/.device
#   CUDA=emu tests/device/bundle.sh   the same with the CPU emulator instead of nvcc, for a dry
#                                     run of h200-check.sh here (with small CHECK/BENCH sizes)
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuda=${CUDA:-1}
[ "$cuda" = emu ] || [ -x "$nvcc" ] || { echo "bundle.sh: nvcc not found" >&2; exit 1; }
grep -qx '/.device/' "$root/.git/info/exclude" 2>/dev/null || echo '/.device/' >>"$root/.git/info/exclude"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
# the working tree as it is (tracked and untracked-not-ignored files), built from scratch
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf -) | tar -xf - -C "$src"
make -C "$src" -j"$(nproc)" NVCC="$nvcc" CUDA="$cuda" OPT='-O3 -march=x86-64-v3' \
  all build/opt/unit-tests build/opt/bench/cuda-step >"$src/build.log" 2>&1 ||
  { tail -30 "$src/build.log" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib"
cp "$src"/bin/* "$src/build/opt/unit-tests" "$src/build/opt/bench/cuda-step" "$out/bin/"
for b in "$out"/bin/*; do ldd "$b"; done | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -Ev '/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt|libmvec)\.so' |
  while read -r l; do cp -L "$l" "$out/lib/"; done
strip --strip-unneeded "$out"/lib/*.so* 2>/dev/null || true
# the device tool carries at most 64 MiB: ship it compressed (about 21 MB), unpacked there
tar -cJf "$src/bundle.tar.xz" -C "$out" bin lib
rm -rf "$out" && mkdir -p "$out" && mv "$src/bundle.tar.xz" "$out/"
echo "bundle.sh: $out/bundle.tar.xz, $(du -h "$out/bundle.tar.xz" | cut -f1)"
