#!/usr/bin/env bats
# The CUDA backend through the tools: --device cuda gives what --device cpu gives.
# In the test build (make test) "cuda" is the CPU emulator of kernels/emu/, which runs the very
# same kernel code, so these tests run everywhere; on a machine with a GPU and an nvcc build
# (make test SAN=0) they check the real GPU.  Without any CUDA backend they skip.
load helper

setup_file() {
  export CT=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$CT/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$CT/data" 48 0
  for s in train val; do
    tokenize --vocab "$CT/tiny" --text-fields text --label-field label "$CT/data/$s.jsonl" -o "$CT/$s.ex"
  done
}
teardown_file() { rm -rf "$CT"; }

need_cuda() {
  gradacc --model "$CT/tiny" --steps 1 --batch 2 --device cuda -q "$CT/train.ex" -o "$CT/probe.st" \
    2>"$CT/probe.err" || skip "no CUDA backend: $(tail -1 "$CT/probe.err")"
}

cmp_streams() { # A B TOL: tensors/deltas of two streams agree
  inspect --to "$CT/a.safetensors" "$1" && inspect --to "$CT/b.safetensors" "$2"
  run env PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 "$ROOT/tests/tools/cmp_tensors.py" \
    "$CT/a.safetensors" "$CT/b.safetensors" "$3"
  echo "$output"
  assert_success
}

@test "--device and --precision: unknown names are usage errors, the CPU refuses tf32" {
  run gradacc --model "$CT/tiny" --steps 1 --device tpu "$CT/train.ex"
  assert_failure 2
  assert_output --partial "expected cpu, cuda or auto"
  run gradacc --model "$CT/tiny" --steps 1 --precision fp8 "$CT/train.ex"
  assert_failure 2
  run gradacc --model "$CT/tiny" --steps 1 --device cpu --precision tf32 "$CT/train.ex" -o "$CT/x.st"
  assert_failure 1
  assert_output --partial "fp32 only"
  [ ! -e "$CT/x.st" ]
}

@test "--device cuda without a usable CUDA backend fails clearly, no output" {
  if gradacc --model "$CT/tiny" --steps 1 --batch 2 --device cuda -q "$CT/train.ex" -o "$CT/probe2.st" 2>/dev/null; then
    skip "this build has a CUDA backend"
  fi
  run gradacc --model "$CT/tiny" --steps 1 --device cuda "$CT/train.ex" -o "$CT/y.st"
  assert_failure 1
  assert_output --partial "--device cuda"
  [ ! -e "$CT/y.st" ]
}

@test "gradacc: CUDA gradients equal the CPU's (dropout on, sum and sumsq)" {
  need_cuda
  for r in sum sumsq; do
    gradacc --model "$CT/tiny" --steps 2 --batch 4 --seed 3 --reduce $r --device cpu -q "$CT/train.ex" -o "$CT/cpu.$r"
    gradacc --model "$CT/tiny" --steps 2 --batch 4 --seed 3 --reduce $r --device cuda -q "$CT/train.ex" -o "$CT/cu.$r"
    cmp_streams "$CT/cu.$r" "$CT/cpu.$r" 1e-4
  done
}

@test "gradacc --device cuda is deterministic (byte-identical reruns)" {
  need_cuda
  gradacc --model "$CT/tiny" --steps 2 --batch 4 --seed 3 --device cuda -q "$CT/train.ex" -o "$CT/d1"
  gradacc --model "$CT/tiny" --steps 2 --batch 4 --seed 3 --device cuda -q "$CT/train.ex" -o "$CT/d2"
  inspect --to "$CT/d1.safetensors" "$CT/d1" && inspect --to "$CT/d2.safetensors" "$CT/d2"
  cmp "$CT/d1.safetensors" "$CT/d2.safetensors"
}

@test "sam-select --device cuda selects the same mask as the CPU" {
  need_cuda
  gradacc --model "$CT/tiny" --steps 2 --batch 4 --seed 3 --device cpu -q "$CT/train.ex" -o "$CT/g.cpu"
  sam-select --ratio 0.05 --device cpu "$CT/g.cpu" -o "$CT/m.cpu"
  sam-select --ratio 0.05 --device cuda "$CT/g.cpu" -o "$CT/m.cu"
  run /usr/bin/python3 - "$CT/m.cpu" "$CT/m.cu" <<'PY'
import subprocess, sys, json
def records(p):
    out = subprocess.run(["inspect", "--json", "--max-elems", "100000000", p], capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines()[1:]]
a, b = records(sys.argv[1]), records(sys.argv[2])
assert a == b, "masks differ"
print("same", len(a))
PY
  assert_success
}

@test "masktrain: the mask from CUDA gradients is the CPU's, the CUDA delta is within tolerance" {
  need_cuda
  gradacc --model "$CT/tiny" --steps 2 --batch 8 --seed 1 --device cpu -q "$CT/train.ex" -o "$CT/gt.cpu"
  gradacc --model "$CT/tiny" --steps 2 --batch 8 --seed 1 --device cuda -q "$CT/train.ex" -o "$CT/gt.cu"
  # the key bias's gradient is zero in exact arithmetic (softmax ignores a constant added to a
  # row of scores): its ranking is rounding noise on any device, so it is left out here
  sam-select --ratio 0.05 --exclude '*key.bias' "$CT/gt.cpu" -o "$CT/mk.cpu"
  sam-select --ratio 0.05 --exclude '*key.bias' "$CT/gt.cu" -o "$CT/mk.cu"
  cmp_streams "$CT/mk.cu" "$CT/mk.cpu" 0
  for d in cpu cuda; do
    masktrain --model "$CT/tiny" --mask "$CT/mk.cpu" --dev "$CT/val.ex" --seed 1 --max-steps 6 \
      --eval-every 3 --batch 8 --lr 1e-3 --device $d -q "$CT/train.ex" -o "$CT/delta.$d"
  done
  cmp_streams "$CT/delta.cuda" "$CT/delta.cpu" 1e-4
}

@test "evaluate --device cuda gives the CPU's predictions and metric" {
  need_cuda
  sam-select --ratio 0.05 --method random --model "$CT/tiny" -o "$CT/mk.rand"
  masktrain --model "$CT/tiny" --mask "$CT/mk.rand" --dev "$CT/val.ex" --seed 1 --max-steps 3 \
    --batch 8 --device cpu -q "$CT/train.ex" -o "$CT/ev.delta"
  for d in cpu cuda; do
    evaluate --model "$CT/tiny" --delta "$CT/ev.delta" --device $d --predictions "$CT/p.$d" \
      "$CT/val.ex" -o "$CT/m.$d"
  done
  run /usr/bin/python3 - "$CT" <<'PY'
import json, subprocess, sys
d = sys.argv[1]
def recs(p):
    out = subprocess.run(["inspect", "--json", p], capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines()[1:] if l.startswith("{")]
pc, pg = recs(d + "/p.cpu"), recs(d + "/p.cuda")
assert [r.get("pred") for r in pc] == [r.get("pred") for r in pg], "predictions differ"
mc, mg = recs(d + "/m.cpu"), recs(d + "/m.cuda")
vc = [r["metric"] for r in mc if "metric" in r]; vg = [r["metric"] for r in mg if "metric" in r]
assert vc and vc == vg, (vc, vg)
lc = [r["loss"] for r in mc if "loss" in r]; lg = [r["loss"] for r in mg if "loss" in r]
assert all(abs(x - y) <= 1e-5 * abs(x) for x, y in zip(lc, lg)), (lc, lg)
print("same", len(pc), vc, lc, lg)
PY
  echo "$output"
  assert_success
}
