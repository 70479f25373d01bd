#!/usr/bin/env bats
# The benchmark's reference side: FLOP count, the PyTorch step, sgemm-peak, engine-bench.
load helper

PY=/usr/bin/python3
BENCH=$ROOT/tests/bench

need_torch() {
  "$PY" -c 'import torch' 2>/dev/null || skip "/usr/bin/python3 has no torch (python3-torch)"
}

@test "flops.py: roberta-base step FLOPs by hand" {
  run "$PY" "$BENCH/flops.py"
  assert_success
  # per layer: 4 projections + FFN up/down at 2048 tokens, scores + context for 192 heads
  local t=2048 h=768 f=3072
  local layer=$(( 4*2*t*h*h + 2*2*t*h*f + 2*192*2*128*128*64 ))
  local head=$(( 2*16*h*h + 2*16*h*2 ))
  assert_output "$(( 3 * (12*layer + head) ))"
  run "$PY" "$BENCH/flops.py" --layers 1 --hidden 8 --heads 2 --ffn 16 --batch 1 --len 4 --labels 3
  # fwd: proj 4*2*4*8*8 + ffn 2*2*4*8*16 + attention 2*(1*2)*2*4*4*4 + head 2*8*8 + 2*8*3
  assert_output "$(( 3 * (2048 + 2048 + 512 + 128 + 48) ))"
}

@test "flops.py: heads must divide hidden" {
  run "$PY" "$BENCH/flops.py" --hidden 10 --heads 3
  assert_failure
}

@test "torch_step.py: a tiny step prints JSON with the timing and the BLAS in use" {
  need_torch
  run "$PY" "$BENCH/torch_step.py" --layers 1 --hidden 32 --heads 4 --ffn 64 --vocab 50 \
    --batch 2 --len 8 --threads 1 --steps 2 --pad realistic
  assert_success
  echo "$output" | "$PY" -c '
import json, math, sys
d = json.load(sys.stdin)
assert d["seconds_per_step"] > 0 and len(d["steps"]) == 2, d
assert d["threads"] == 1 and d["pad"] == "realistic", d
assert math.isfinite(d["loss"]) and d["loss"] > 0, d
assert d["torch_version"] and "BLAS_INFO" in d["blas"], d
assert d["step_flops"] > 0 and d["gflops"] > 0, d
'
}

@test "torch_step.py: --budget stops after the first timed step" {
  need_torch
  run "$PY" "$BENCH/torch_step.py" --layers 1 --hidden 32 --heads 4 --ffn 64 --vocab 50 \
    --batch 2 --len 8 --threads 1 --steps 50 --budget 0.000001
  assert_success
  echo "$output" | "$PY" -c 'import json,sys; assert len(json.load(sys.stdin)["steps"]) == 1'
}

@test "sgemm-peak: table of the step's shapes and the best rate" {
  [ -x "$ROOT/build/opt/bench/sgemm-peak" ] || skip "sgemm-peak not built (make bench-build)"
  run "$ROOT/build/opt/bench/sgemm-peak" --threads 1 --lib dnnl --min-time 0
  assert_success
  assert_line --regexp '^best sgemm: [0-9.]+ GFLOP/s \(dnnl '
  assert_line --regexp '^\| attn scores, dP \| NT \| 128 x 128 x 64 \| 192 \| 24 \| [0-9.]+ \|$'
  assert_line --regexp '^step mix dnnl: [0-9.]+ s for the step.s 1.073e\+12 GEMM FLOPs'
  run "$ROOT/build/opt/bench/sgemm-peak" --lib mkl
  assert_failure 2
}

@test "engine-bench: tiny shape, given sgemm rate: PyTorch rows, floor and target" {
  need_torch
  run "$BENCH/engine-bench" --sgemm-rate 100 --threads 1 --steps 1 --layers 1 --hidden 32 \
    --heads 4 --ffn 64 --vocab 50 --batch 2 --len 8 --time-fallback
  assert_success
  assert_line --regexp '^\| PyTorch, as the machine is set \| [0-9.e-]+ \| [0-9.]+ \|'
  assert_line --partial 'PyTorch at its best'
  # 3 * (proj 4*2*16*32*32 + ffn 2*2*16*32*64 + attention 2*(2*4)*2*8*8*8 + head
  # 2*2*32*32 + 2*2*32*2) FLOPs; the floor is that at 100 GFLOP/s
  local fl=$(( 3 * (131072 + 131072 + 16384 + 4096 + 256) ))
  assert_line "step matrix FLOPs: $fl (tests/bench/flops.py); best sgemm rate: 100.0 GFLOP/s"
  assert_line --regexp '^\| floor \(step FLOPs / best sgemm\) \| 8.486e-06 \|'
  assert_line --regexp '^\| ours \(engine-step\) \|'
}

@test "engine-bench: a fallback OpenBLAS core is not timed; the CPU's best core is" {
  need_torch
  grep -qw avx2 /proc/cpuinfo || skip "no AVX2: no better OpenBLAS core to pick"
  OPENBLAS_CORETYPE=Prescott run "$BENCH/engine-bench" --sgemm-rate 100 --threads 1 --steps 1 \
    --layers 1 --hidden 32 --heads 4 --ffn 64 --vocab 50 --batch 2 --len 8
  assert_success
  assert_line --regexp '^\| PyTorch, as the machine is set \| - \|.*not timed: OpenBLAS falls back to Prescott'
  assert_line --regexp '^\| PyTorch, .* \| [0-9.e-]+ \| 1.00 \|.*PyTorch at its best'
  refute_line --partial 'OpenBLAS core Prescott'
}

@test "engine-bench: the engine row from engine-step's JSON; a failing engine is reported" {
  need_torch
  cat > "$BATS_TEST_TMPDIR/fake-engine" <<'SH'
#!/bin/sh
# stands in for engine-step: checks the CLI contract, reports 2x the floor at 100 GFLOP/s
[ "$*" = "--layers 1 --hidden 32 --heads 4 --ffn 64 --vocab 50 --batch 2 --len 8 --steps 1" ] || exit 3
[ "$OMP_NUM_THREADS" = 1 ] || exit 4
echo '{"seconds_per_step": 1.6972800e-05, "gflops": 50}'
SH
  chmod +x "$BATS_TEST_TMPDIR/fake-engine"
  local args=(--sgemm-rate 100 --threads 1 --steps 1 --layers 1 --hidden 32 --heads 4
              --ffn 64 --vocab 50 --batch 2 --len 8)
  run "$BENCH/engine-bench" "${args[@]}" --engine "$BATS_TEST_TMPDIR/fake-engine"
  assert_success
  assert_line --regexp '^\| ours \(engine-step\) \| 1.697e-05 \| [0-9.]+ \| 50.0 \| 50.0 % \|'
  printf '#!/bin/sh\necho "engine-step: bad arguments" >&2; exit 2\n' > "$BATS_TEST_TMPDIR/fake-engine"
  run "$BENCH/engine-bench" "${args[@]}" --engine "$BATS_TEST_TMPDIR/fake-engine"
  assert_success
  assert_line --partial "engine-step failed (exit 2): engine-step: bad arguments"
  assert_line --partial "engine-step: bad arguments"
  assert_line --regexp '^\| ours \(engine-step\) \| - \|.*failed'
}

@test "engine-bench: bad options are usage errors" {
  run "$BENCH/engine-bench" --threads 0
  assert_failure 2
  assert_output --partial "engine-bench: --threads: expected a positive integer"
  run "$BENCH/engine-bench" --frobnicate
  assert_failure 2
  assert_output --partial "unknown option '--frobnicate'"
}
