#!/bin/bash
# h200-check.sh — the CUDA backend on a real GPU, in one run (made for the lent H200, see
# tests/device/README.md): parity with the CPU, the tools end to end, and the benchmark
# against PyTorch eager.  Needs .device/ from bundle.sh.  Prints a short table last; full
# logs go to $OUT (or /tmp/h200-out).
#   QUICK=1  parity only, no benchmark
#   CHECK="--batch 8 --len 128"   sizes of the roberta-base parity check (cuda-step --check)
#   BENCH="--batch 32 --len 128 --steps 20"   sizes of the benchmark (cuda-step, PyTorch)
CHECK=${CHECK:---batch 8 --len 128}
BENCH=${BENCH:---batch 32 --len 128 --steps 20}
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/h200-out}
mkdir -p "$OUT"
D=${DEVICE_DIR:-/tmp/sparsetune-device}
mkdir -p "$D" && tar -xJf .device/bundle.tar.xz -C "$D" || { echo "no .device/bundle.tar.xz: run tests/device/bundle.sh"; exit 1; }
B=$D/bin
export LD_LIBRARY_PATH=$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$B:$PATH OMP_WAIT_POLICY=passive
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
: >"$OUT/summary.txt"

# cuBLAS / cudart of the machine: the build's rpath, else the pip-installed NVIDIA wheels
if ldd "$B/gradacc" | grep -q 'not found'; then
  for d in $(python3 -c 'import nvidia, os; [print(os.path.join(p, q, "lib")) for p in nvidia.__path__ for q in os.listdir(p)]' 2>/dev/null); do
    [ -d "$d" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d
  done
  export LD_LIBRARY_PATH
fi
ldd "$B/gradacc" | grep 'not found' && { echo "missing libraries"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$OUT/summary.txt"

# 1. kernel and engine parity on small shapes: every op and the whole model, GPU vs CPU
log "unit tests (cuda_*: GPU against the CPU backend)"
"$B/unit-tests" cuda >"$OUT/unit.txt" 2>&1
tail -1 "$OUT/unit.txt" | tee -a "$OUT/summary.txt"
grep -E "^(FAIL|fail)|relative error" "$OUT/unit.txt" | head -20 | tee -a "$OUT/summary.txt"

# 2. roberta-base parity, dropout on, dense and masked, fp32/tf32/bf16
log "roberta-base gradients, $CHECK (CPU reference on $(nproc) cores)"
cuda-step --check $CHECK >"$OUT/check.jsonl" 2>>"$OUT/stderr.txt"
cuda-step --check $CHECK --ratio 0.005 >>"$OUT/check.jsonl" 2>>"$OUT/stderr.txt"

# 3. the tools end to end: gradacc -> sam-select -> masktrain -> evaluate on both devices
log "tools: gradacc, sam-select, masktrain, evaluate (tiny model)"
T=$(mktemp -d)
{
  init-model --vocab tests/fixtures/tiny-vocab --seed 1 -o "$T/tiny" &&
  python3 pipelines/make-demo-data.py "$T/data" 64 0 &&
  for s in train val; do tokenize --vocab "$T/tiny" --text-fields text --label-field label "$T/data/$s.jsonl" -o "$T/$s.ex"; done &&
  for d in cpu cuda; do
    gradacc --model "$T/tiny" --steps 3 --batch 8 --seed 1 --device $d -q "$T/train.ex" -o "$T/g.$d" &&
    sam-select --ratio 0.05 --exclude '*key.bias' --device $d "$T/g.$d" -o "$T/m.$d" &&
    masktrain --model "$T/tiny" --mask "$T/m.cpu" --dev "$T/val.ex" --seed 1 --max-steps 10 --eval-every 5 \
      --batch 8 --lr 1e-3 --device $d -q "$T/train.ex" -o "$T/d.$d" &&
    evaluate --model "$T/tiny" --delta "$T/d.cpu" --device $d "$T/val.ex" -o "$T/e.$d" || exit 1
  done
  for x in g m d; do inspect --to "$T/$x.cpu.safetensors" "$T/$x.cpu"; inspect --to "$T/$x.cuda.safetensors" "$T/$x.cuda"; done
  for x in g d; do
    echo -n "$x: "; PYTHONPATH=tests/tools python3 tests/tools/cmp_tensors.py "$T/$x.cuda.safetensors" "$T/$x.cpu.safetensors" 1e-4
  done
  echo -n "mask from GPU gradients: "; PYTHONPATH=tests/tools python3 tests/tools/cmp_tensors.py "$T/m.cuda.safetensors" "$T/m.cpu.safetensors" 0
  for d in cpu cuda; do
    echo "evaluate $d: $(inspect --json "$T/e.$d" | python3 -c 'import json,sys; r=[json.loads(l) for l in sys.stdin][1]; print(r["metric_name"], r["metric"], "loss", r["loss"])')"
  done
} >"$OUT/tools.txt" 2>&1
tail -5 "$OUT/tools.txt" | tee -a "$OUT/summary.txt"
rm -rf "$T"

if [ "${QUICK:-0}" != 1 ]; then
  # 4. benchmark: ours full and masked, PyTorch eager full, batch 32 x 128, each precision
  log "benchmark, $BENCH"
  for p in fp32 tf32 bf16; do
    cuda-step $BENCH --precision $p >>"$OUT/bench.jsonl" 2>>"$OUT/stderr.txt"
    cuda-step $BENCH --precision $p --ratio 0.005 >>"$OUT/bench.jsonl" 2>>"$OUT/stderr.txt"
    for w in sampled dense; do # both ways to masked weight gradients (kernels/sparse.cu)
      SPARSETUNE_SPARSE_DW=$w cuda-step $BENCH --precision $p --ratio 0.005 >>"$OUT/bench.jsonl" 2>>"$OUT/stderr.txt"
    done
  done
  # where a step's GPU time goes (kernels/profile.cu), full and masked, fp32 and bf16
  for p in fp32 bf16; do
    for r in 0 0.005; do
      echo "== profile $p ratio $r" >>"$OUT/profile.txt"
      SPARSETUNE_OPS_PROFILE=3 cuda-step $BENCH --steps 5 --precision $p --ratio $r >/dev/null 2>>"$OUT/profile.txt"
    done
  done
  PYTHONUNBUFFERED=1 python3 tests/bench/torch_cuda_step.py $BENCH \
    >>"$OUT/bench.jsonl" 2>>"$OUT/stderr.txt"
fi

[ -f "$OUT/profile.txt" ] && grep -A9 '^== profile' "$OUT/profile.txt" | grep -v '^--' | cut -c1-72 | tee -a "$OUT/summary.txt"
python3 - "$OUT" <<'PY' | tee -a "$OUT/summary.txt"
import json, os, sys
out = sys.argv[1]
def rows(f):
    p = os.path.join(out, f)
    return [json.loads(l) for l in open(p) if l.startswith("{")] if os.path.exists(p) else []
print("\nparity (cuda-step --check), dropout on (relative error per tensor, worst)")
print(f"{'mask':8} {'precision':9} {'loss rel':>9} {'worst':>9} {'mean':>9}  worst tensor")
for r in rows("check.jsonl"):
    print(f"{'p=%g' % r['ratio'] if r['ratio'] else 'dense':8} {r['precision']:9} {r['loss_rel_err']:9.2e} "
          f"{r['worst_tensor_rel_err']:9.2e} {r['mean_tensor_rel_err']:9.2e}  {r['worst_tensor']}")
b = rows("bench.jsonl")
if b:
    print("\nbenchmark (median s/step; ours vs PyTorch eager, same precision)")
    print(f"{'precision':9} {'torch':>8} {'full':>8} {'masked':>8} {'torch/full':>10} {'full/masked':>11} {'TFLOP/s':>8} {'gemm TF/s':>9} {'% gemm':>7}")
    for p in ("fp32", "tf32", "bf16"):
        t = next((r for r in b if r["bench"] == "pytorch" and r["precision"] == p), None)
        f = next((r for r in b if r["bench"] == "full" and r["precision"] == p), None)
        m = next((r for r in b if r["bench"] == "masked" and r["precision"] == p and r.get("sparse_dw", "auto") == "auto"), None)
        if not f: continue
        ts = t["seconds_per_step"] if t else float("nan")
        print(f"{p:9} {ts:8.4f} {f['seconds_per_step']:8.4f} {m['seconds_per_step'] if m else float('nan'):8.4f} "
              f"{ts / f['seconds_per_step']:10.2f} {f['seconds_per_step'] / m['seconds_per_step'] if m else float('nan'):11.2f} "
              f"{f['tflops']:8.1f} {f['gemm_tflops']:9.1f} {100 * f['fraction_of_gemm']:6.0f}%")
    for r in b:
        if r["bench"] == "masked" and r.get("sparse_dw", "auto") != "auto":
            print(f"masked {r['precision']} with SPARSETUNE_SPARSE_DW={r['sparse_dw']}: {r['seconds_per_step']:.4f} s/step")
    for r in b:
        if r["bench"] == "pytorch":
            print(f"torch {r['torch']} {r['precision']}: matmul [4096x768]x[768x3072] {r['matmul_tflops']} TFLOP/s")
PY
