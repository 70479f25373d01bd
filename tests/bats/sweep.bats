#!/usr/bin/env bats
# pipelines/sweep.sh + run.mk: a small sweep through GNU parallel, killed midway and rerun:
# finished runs are not recomputed and the final table is complete.
load helper

@test "sweep: 2 tasks x 2 methods x 2 seeds, killed midway, resumed without recomputing" {
  T=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$T/model"
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/alpha" 64 1
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/beta" 64 2
  args=(BIN="$BIN" MODEL="$T/model" DATA="$T/data" OUT="$T/out" TASKS="alpha beta" METHODS="sam random"
        SEEDS="1 2" RATIOS=0.05 STEPS_alpha=2 STEPS_beta=2 MAXLEN=64 BATCH=8
        "TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha"
        "TOKENIZE_ARGS_beta=--text-fields text --label-field label --name beta"
        "MT_OPTS=--max-steps 40 --eval-every 10")
  JOBS=2 setsid "$ROOT/pipelines/sweep.sh" "${args[@]}" > "$T/first.log" 2>&1 &
  pid=$!
  for i in $(seq 1 600); do
    [ "$(ls "$T/out/metrics/" 2>/dev/null | grep -c '\.metrics$')" -ge 2 ] && break
    sleep 0.1
  done
  kill -TERM -- -"$pid" 2>/dev/null || true
  wait "$pid" || true
  # every process of the sweep (make, parallel, the tools) has stopped
  for i in $(seq 1 300); do pgrep -g "$pid" > /dev/null || break; sleep 0.1; done
  done_before=$(ls "$T/out/metrics/" | grep -c '\.metrics$')
  [ "$done_before" -ge 2 ]
  [ "$done_before" -lt 8 ] || skip "the sweep finished before it could be killed"
  ls -l --time-style=+%s.%N "$T/out/metrics/"*.metrics > "$T/before"
  # no half-written files were left behind
  [ -z "$(find "$T/out" -name '*.tmp.*')" ]
  run env JOBS=2 "$ROOT/pipelines/sweep.sh" "${args[@]}"
  assert_success
  [ "$(ls "$T/out/metrics/" | grep -c '\.metrics$')" -eq 8 ]
  # the runs finished before the kill were not recomputed (same modification times)
  while read -r line; do
    f=${line##* }
    grep -qF -- "$line" <(ls -l --time-style=+%s.%N "$f")
  done < "$T/before"
  assert_output --partial "alpha"
  assert_output --partial "beta"
  assert_output --regexp "sam +[0-9]"
  assert_output --regexp "random +[0-9]"
  rm -rf "$T"
}
