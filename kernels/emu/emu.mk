# emu.mk — the CUDA emulator (kernels/emu/) and its test; included by the main Makefile.
#
#   make emu-test    builds build/emu-test/test_emu (optimised) and test_emu_san (ASan/UBSan)
#                    and runs both; the last line of each run is "N passed, N failed".
#
# EMU_SRC / EMU_CXXFLAGS are what a build of kernels/*.cu for the emulator needs:
#   g++ $(EMU_CXXFLAGS) -x c++ -c kernels/X.cu; link with the EMU_SRC objects (C++: -lstdc++).

EMU_CXX      ?= g++
EMU_SRC       = kernels/emu/emu_launch.cpp kernels/emu/emu_runtime.cpp kernels/emu/emu_cublas.cpp
EMU_HDR       = kernels/emu/cuda_emu.h kernels/cuda_compat.h kernels/cuda_common.h
# -Wno-unknown-pragmas: g++ does not know CUDA's `#pragma unroll` (nvcc does).
EMU_CXXFLAGS  = -std=c++17 -g -Wall -Wextra -Wshadow -Wno-unknown-pragmas -DSPARSETUNE_CUDA_EMU -Ilib -Ikernels
EMU_T         = build/emu-test
EMU_SANFLAGS  = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(EMU_T)/test_emu: tests/emu/test_emu.cu $(EMU_SRC) $(EMU_HDR) tests/unit/die_capture.h
	@mkdir -p $(EMU_T)
	$(EMU_CXX) $(EMU_CXXFLAGS) -O2 -Itests/unit -x c++ tests/emu/test_emu.cu -x none $(EMU_SRC) -o $@
$(EMU_T)/test_emu_san: tests/emu/test_emu.cu $(EMU_SRC) $(EMU_HDR) tests/unit/die_capture.h
	@mkdir -p $(EMU_T)
	$(EMU_CXX) $(EMU_CXXFLAGS) $(EMU_SANFLAGS) -Itests/unit -x c++ tests/emu/test_emu.cu -x none $(EMU_SRC) -o $@

emu-test: $(EMU_T)/test_emu $(EMU_T)/test_emu_san
	$(EMU_T)/test_emu
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 $(EMU_T)/test_emu_san

.PHONY: emu-test
