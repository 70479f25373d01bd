#!/usr/bin/env bats
# How the tools run on a shared machine: OpenMP's wait policy (lib/util.c).
load helper

@test "tools default to OpenMP's passive wait policy (no spinning threads), unless the user sets one" {
  local d pid env
  d=$(mktemp -d)
  mkfifo "$d/in"
  # opening the FIFO for writing returns once the tool has opened it in main, i.e. after any
  # re-exec; its environment is then in /proc
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT tokenize --vocab "$FIXTURES/tiny-vocab" --text-fields text \
    "$d/in" -o "$d/out" 2>/dev/null & pid=$!
  exec 7> "$d/in"
  env=$(tr '\0' '\n' < /proc/$pid/environ)
  exec 7>&-
  wait "$pid" || true
  grep -qx 'OMP_WAIT_POLICY=passive' <<< "$env"
  # a user's choice stays
  env OMP_WAIT_POLICY=active tokenize --vocab "$FIXTURES/tiny-vocab" --text-fields text \
    "$d/in" -o "$d/out2" 2>/dev/null & pid=$!
  exec 7> "$d/in"
  env=$(tr '\0' '\n' < /proc/$pid/environ)
  exec 7>&-
  wait "$pid" || true
  grep -qx 'OMP_WAIT_POLICY=active' <<< "$env"
  rm -rf "$d"
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
