#!/usr/bin/env bats
# How the tools run on a shared machine: OpenMP's wait policy (lib/util.c).
load helper

# The environment tokenize runs with, started under `env ARGS...`: it blocks reading a FIFO,
# and opening the FIFO for writing returns once the tool has opened it in main, i.e. after
# any re-exec, so /proc then shows the environment main sees.
tool_environment() {
  local d pid
  d=$(mktemp -d)
  mkfifo "$d/in"
  env "$@" tokenize --vocab "$FIXTURES/tiny-vocab" --text-fields text "$d/in" -o "$d/out" 2>/dev/null & pid=$!
  exec 7> "$d/in"
  tr '\0' '\n' < /proc/$pid/environ
  exec 7>&-
  wait "$pid" || true
  rm -rf "$d"
}

@test "tools default to OpenMP's passive wait policy (no spinning threads), unless the user sets one" {
  tool_environment -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT | grep -qx 'OMP_WAIT_POLICY=passive'
  # a user's choice stays
  tool_environment OMP_WAIT_POLICY=active | grep -qx 'OMP_WAIT_POLICY=active'
}

@test "a bad option gets one line naming the tool and the option, then the --help hint; exit 2" {
  local t
  for t in tokenize init-model gradacc sam-select masktrain evaluate stats inspect; do
    run "$t" --no-such-option
    assert_failure 2
    assert_line --index 0 "$t: unrecognized option '--no-such-option'"
    assert_line --index 1 "Try '$t --help' for more information."
    [ "${#lines[@]}" -eq 2 ]
  done
  run gradacc -Z
  assert_output "gradacc: invalid option -- 'Z'
Try 'gradacc --help' for more information."
  run masktrain --model
  assert_failure 2
  assert_line --index 0 "masktrain: option '--model' requires an argument"
}

@test "--device cuda without a GPU says 'no CUDA device', --device auto falls back to the CPU" {
  local d
  d=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" -o "$d/m"
  python3 "$ROOT/pipelines/make-demo-data.py" "$d/data" 8 0
  tokenize --vocab "$d/m" --text-fields text --label-field label "$d/data/train.jsonl" -o "$d/t.ex"
  # the test build's CUDA backend is the emulator: told to show no device, as a machine
  # without an NVIDIA GPU (or driver) does
  run env SPARSETUNE_EMU_NO_DEVICE=1 gradacc --device cuda --model "$d/m" --steps 1 "$d/t.ex" -o "$d/g"
  [ "$status" -ne 0 ] || skip "a real GPU is visible to this (nvcc) build"
  assert_failure
  assert_output --partial "--device cuda: no CUDA device (no NVIDIA GPU or driver on this machine)"
  refute_output --partial "driver version"
  [ ! -e "$d/g" ]
  run env SPARSETUNE_EMU_NO_DEVICE=1 gradacc --device auto --model "$d/m" --steps 1 "$d/t.ex" -o "$d/g"
  assert_success
  assert_output --regexp '^device: cpu'
  rm -rf "$d"
}
