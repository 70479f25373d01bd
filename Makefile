# sparsetune — build, test, bench, install.
#
#   make                 build every tool into bin/
#   make test            unit tests + bats suites, on a build with ASan/UBSan (build/san)
#   make test SAN=0      the same on the optimised build
#   make bench           benchmarks (tables: ours vs the alternative, ratios from one run)
#   make install PREFIX=/usr/local
#   make deps            install the Debian packages the build and tests need (apt-get, npm)
#
# CUDA (kernels/, see kernels/README.md): the optimised build compiles kernels/*.cu with nvcc
# when it is found (NVCC=..., or CUDA=0 to leave it out; CUDA=emu: the emulator) and links cuBLAS; without nvcc it links
# kernels/none.c and `--device cuda` says why.  The sanitizer (test) build always compiles the
# same kernels with g++ for the CPU emulator (kernels/emu/), so the tests run them everywhere.

CC      ?= gcc
PREFIX  ?= /usr/local
SAN     ?= 1

WARN     = -Wall -Wextra -Wshadow -Wno-unused-parameter
GEN      = build/gen
CFLAGS_BASE = -std=c11 -g $(WARN) -fopenmp -D_GNU_SOURCE -Ilib -I$(GEN)
OPT      = -O3 -march=native
LIBS     = -lmsgpackc -ljansson -lpcre2-8 -larchive -lcrypto -ldnnl -lgsl -lgslcblas -lm -fopenmp

CUDA    ?= 1
NVCC    ?= $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
NVCCFLAGS = -std=c++17 -O3 -lineinfo -gencode arch=compute_90,code=sm_90 \
            -gencode arch=compute_90,code=compute_90 -Xcompiler -Wall,-Wextra,-Wno-unused-parameter \
            -Ilib -Ikernels
CU_SRC   = $(wildcard kernels/*.cu)
CU_HDR   = $(wildcard kernels/*.h kernels/*.cuh kernels/emu/*.h)
include kernels/emu/emu.mk
.DEFAULT_GOAL := all

TOOLS    = $(basename $(notdir $(wildcard tools/*.c)))
LIB_SRC  = $(wildcard lib/*.c lib/methods/*.c)
UNIT_SRC = $(wildcard tests/unit/*.c)
HEADERS  = $(wildcard lib/*.h lib/methods/*.h tests/unit/*.h)

# Optimised build: build/ and bin/.  Sanitizer build for tests: build/san/ (own bin/).
B        = build/opt
S        = build/san
SANFLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

all: $(addprefix bin/,$(TOOLS))

# ---- the CUDA backend's objects: nvcc (real GPU), none (no nvcc), emu (tests, any machine) ----
ifeq ($(CUDA),emu)
# the emulator in the optimised build (dry runs of tests/device/ scripts; slow, for tests)
CUDA_BUILD = emu
B_CUDA_OBJ = $(patsubst kernels/%.cu,$(B)/kernels/emu-%.o,$(CU_SRC)) \
             $(patsubst kernels/emu/%.cpp,$(B)/kernels/emu/%.o,$(EMU_SRC))
B_CUDA_LIBS = -lstdc++
else ifeq ($(and $(filter 1,$(CUDA)),$(NVCC),$(CU_SRC)),)
CUDA_BUILD = none
B_CUDA_OBJ = $(B)/kernels/none.o
B_CUDA_LIBS =
else
CUDA_BUILD = nvcc
B_CUDA_OBJ = $(patsubst kernels/%.cu,$(B)/kernels/%.o,$(CU_SRC))
B_CUDA_LIBS = -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
endif
$(B)/kernels/none.o: kernels/none.c lib/ops_backend.h lib/ops.h | $(B)/kernels
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -c $< -o $@
$(B)/kernels/%.o: kernels/%.cu $(CU_HDR) lib/ops_backend.h lib/ops.h | $(B)/kernels
	$(NVCC) $(NVCCFLAGS) -c $< -o $@
$(B)/kernels/emu-%.o: kernels/%.cu $(CU_HDR) lib/ops_backend.h lib/ops.h | $(B)/kernels
	$(EMU_CXX) $(EMU_CXXFLAGS) -O2 -x c++ -c $< -o $@
$(B)/kernels/emu/%.o: kernels/emu/%.cpp $(CU_HDR) | $(B)/kernels/emu
	$(EMU_CXX) $(EMU_CXXFLAGS) -O2 -c $< -o $@
ifeq ($(CU_SRC),)
S_CUDA_OBJ = $(S)/kernels/none.o
else
S_CUDA_OBJ = $(patsubst kernels/%.cu,$(S)/kernels/%.o,$(CU_SRC)) \
             $(patsubst kernels/emu/%.cpp,$(S)/kernels/emu/%.o,$(EMU_SRC))
endif
S_CUDA_LIBS = -lstdc++
$(S)/kernels/none.o: kernels/none.c lib/ops_backend.h lib/ops.h | $(S)/kernels
	$(CC) $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS) -c $< -o $@
$(S)/kernels/%.o: kernels/%.cu $(CU_HDR) lib/ops_backend.h lib/ops.h | $(S)/kernels $(S)/kernels/emu
	$(EMU_CXX) $(EMU_CXXFLAGS) $(SANFLAGS) -x c++ -c $< -o $@
$(S)/kernels/emu/%.o: kernels/emu/%.cpp $(CU_HDR) | $(S)/kernels/emu
	$(EMU_CXX) $(EMU_CXXFLAGS) $(SANFLAGS) -c $< -o $@

# ---- generated sources: the modeling file every export carries, as a C array (lib/export.c) ----
$(GEN)/modeling_sparsetune_py.h: lib/modeling_sparsetune.py | $(GEN)
	{ echo '/* generated from $< by make; do not edit */'; \
	  echo 'static const unsigned char modeling_sparsetune_py[] = {'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; } > $@.tmp && mv $@.tmp $@
$(B)/lib/export.o $(S)/lib/export.o: $(GEN)/modeling_sparsetune_py.h

# ---- optimised objects ----
$(B)/lib/%.o: lib/%.c $(HEADERS) | $(B)/lib
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -c $< -o $@
$(B)/tools/%.o: tools/%.c $(HEADERS) | $(B)/tools
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) -c $< -o $@
$(B)/libsparsetune.a: $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^
bin/%: $(B)/tools/%.o $(B)/libsparsetune.a $(B_CUDA_OBJ) | bin
	$(CC) $(OPT) $< $(B)/libsparsetune.a $(B_CUDA_OBJ) $(LIBS) $(B_CUDA_LIBS) $(LDFLAGS) -o $@

# ---- sanitizer objects (tests) ----
$(S)/lib/%.o: lib/%.c $(HEADERS) | $(S)/lib
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS) -c $< -o $@
$(S)/tools/%.o: tools/%.c $(HEADERS) | $(S)/tools
	$(CC) $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS) -c $< -o $@
$(S)/unit/%.o: tests/unit/%.c $(HEADERS) | $(S)/unit
	$(CC) $(CFLAGS_BASE) -Itests/unit $(SANFLAGS) $(CFLAGS) -c $< -o $@
$(S)/libsparsetune.a: $(patsubst lib/%.c,$(S)/lib/%.o,$(LIB_SRC))
	rm -f $@ && ar rcs $@ $^
$(S)/bin/%: $(S)/tools/%.o $(S)/libsparsetune.a $(S_CUDA_OBJ) | $(S)/bin
	$(CC) $(SANFLAGS) $< $(S)/libsparsetune.a $(S_CUDA_OBJ) $(LIBS) $(S_CUDA_LIBS) -o $@
$(S)/unit-tests: $(patsubst tests/unit/%.c,$(S)/unit/%.o,$(UNIT_SRC)) $(S)/libsparsetune.a $(S_CUDA_OBJ)
	$(CC) $(SANFLAGS) $^ $(LIBS) $(S_CUDA_LIBS) -o $@

$(B)/unit/%.o: tests/unit/%.c $(HEADERS) | $(B)/unit
	$(CC) $(CFLAGS_BASE) -Itests/unit $(OPT) $(CFLAGS) -c $< -o $@
$(B)/unit-tests: $(patsubst tests/unit/%.c,$(B)/unit/%.o,$(UNIT_SRC)) $(B)/libsparsetune.a $(B_CUDA_OBJ)
	$(CC) $(OPT) $^ $(LIBS) $(B_CUDA_LIBS) -o $@

bin $(GEN) $(B)/lib $(B)/tools $(B)/unit $(B)/bench $(B)/kernels $(B)/kernels/emu $(S)/lib $(S)/tools $(S)/unit $(S)/bin \
  $(S)/kernels $(S)/kernels/emu:
	mkdir -p $@

# ---- tests ----
ifeq ($(SAN),1)
TEST_BIN  = $(S)/bin
UNIT      = $(S)/unit-tests
EMU_TEST  = $(EMU_T)/test_emu_san
TEST_ENV  = ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
else
TEST_BIN  = bin
UNIT      = $(B)/unit-tests
EMU_TEST  = $(EMU_T)/test_emu
TEST_ENV  =
endif

test-build: all $(UNIT) $(addprefix $(TEST_BIN)/,$(TOOLS)) $(EMU_TEST)

# The unit-test harness and bats both print a summary; tests/run-tests combines them into
# the last line "N passed, N failed[, N skipped]".
test: test-build
	$(TEST_ENV) SPARSETUNE_BIN=$(TEST_BIN) EMU_TEST=$(EMU_TEST) tests/run-tests $(UNIT)

# Benchmark programs: tests/bench/*.c -> build/opt/bench/<name> (optimised, one file each).
# BENCH_LIBS_<name> adds libraries for one program only (OpenBLAS: sgemm-peak's comparison).
BENCH_SRC = $(wildcard tests/bench/*.c)
BENCH     = $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))
BENCH_LIBS_sgemm-peak = -lopenblas
$(B)/bench/%: tests/bench/%.c $(B)/libsparsetune.a $(B_CUDA_OBJ) $(HEADERS) | $(B)/bench
	$(CC) $(CFLAGS_BASE) $(OPT) $(CFLAGS) $< $(B)/libsparsetune.a $(B_CUDA_OBJ) $(BENCH_LIBS_$*) $(LIBS) $(B_CUDA_LIBS) -o $@
bench-build: $(BENCH)

demo: all
	$(if $(MODEL),MODEL=$(MODEL)) $(if $(DATA),DATA=$(DATA)) $(if $(TASKS),TASKS="$(TASKS)") pipelines/demo.sh $(if $(OUT),$(OUT),demo-out)

bench: all bench-build
	tests/bench/run-all

# Engine timing alone: one roberta-base training step on the CPU (JSON on stdout; the
# summary line and the per-op profile of the steps after the warm-up on stderr).
bench-engine: $(B)/bench/engine-step
	SPARSETUNE_OPS_PROFILE=2 OMP_WAIT_POLICY=passive $(B)/bench/engine-step --steps 3

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(addprefix bin/,$(TOOLS)) $(DESTDIR)$(PREFIX)/bin/
	for s in 1 5 7; do for f in man/man$$s/*.$$s; do [ -e "$$f" ] || continue; \
	  install -m 644 "$$f" $(DESTDIR)$(PREFIX)/share/man/man$$s/; done; done

DEBS = build-essential pkg-config libmsgpack-dev libarchive-dev libjansson-dev libpcre2-dev \
       libssl-dev libdnnl-dev libopenblas-dev libgsl-dev bats bats-assert bats-support \
       parallel gnuplot-nox python3-torch python3-numpy python3-scipy python3-msgpack \
       xz-utils zip unzip zstd bzip2
deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEBS)
	command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
	cd tests/parity && npm ci --no-audit --no-fund --loglevel=error

clean:
	rm -rf build bin


.PHONY: demo all test test-build bench bench-build install deps clean bench-engine
.SECONDARY:
