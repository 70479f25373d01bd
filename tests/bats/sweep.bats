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
  # (up to 5 minutes: a loaded machine is slow, the loop ends as soon as two runs are done)
  for i in $(seq 1 3000); do
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

# Start and end times of the jobs of a parallel --joblog: did two of them overlap?
overlapping_jobs() {
  awk -F'\t' 'NR > 1 { s[NR] = $3; e[NR] = $3 + $4 }
    END { for (i in s) for (j in s) if (i < j && s[i] < e[j] && s[j] < e[i]) { print "overlap"; exit } }' "$1"
}

@test "sweep: two different grids into one OUT each run all their jobs in parallel (one joblog per grid)" {
  T=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$T/model"
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/alpha" 48 1
  common=(BIN="$BIN" MODEL="$T/model" DATA="$T/data" OUT="$T/out" TASKS=alpha STEPS_alpha=2 MAXLEN=64 BATCH=8
          "TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha"
          "MT_OPTS=--max-steps 30 --eval-every 10")
  JOBS=2 "$ROOT/pipelines/sweep.sh" "${common[@]}" METHODS="sam random" SEEDS="1 2" RATIOS=0.05 > "$T/a.log" 2>&1
  JOBS=2 "$ROOT/pipelines/sweep.sh" "${common[@]}" METHODS="sam" SEEDS="1 2 3" RATIOS="0.02 0.05" > "$T/b.log" 2>&1
  ls "$T/out/metrics/"
  # grid a: 4 runs; grid b: 6 runs of which 2 (sam 0.05 s1, s2) are grid a's
  [ "$(ls "$T/out/metrics/" | grep -c '\.metrics$')" -eq 8 ]
  [ "$(ls "$T/out/joblogs/" | grep -vc '\.args$')" -eq 2 ]
  # each log holds all of its grid's jobs: 4 and 6 (one shared log skipped grid b's first 4)
  counts=$(for log in $(ls -d "$T/out/joblogs/"* | grep -v '\.args$'); do echo $(($(wc -l < "$log") - 1)); done | sort -n | xargs)
  [ "$counts" = "4 6" ] || { echo "jobs per log: $counts"; false; }
  for log in $(ls -d "$T/out/joblogs/"* | grep -v '\.args$'); do
    # every job of the grid ran through parallel (none left to make), exit 0
    awk -F'\t' 'NR > 1 && $7 != 0 { bad = 1 } END { exit bad }' "$log"
    [ "$(overlapping_jobs "$log")" = overlap ] || { cat "$log"; false; }
  done
  rm -rf "$T"
}

@test "run.mk pipes the burn-in into sam-select (no gradients kept) unless KEEP_GRADS=1; GRADS_DTYPE=bf16 halves them" {
  T=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$T/model"
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/alpha" 32 1
  common=(BIN="$BIN" MODEL="$T/model" DATA="$T/data" TASKS=alpha METHODS=sam SEEDS=1 RATIOS=0.05
          STEPS_alpha=2 MAXLEN=48 BATCH=8 "TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha")
  make -s -f "$ROOT/pipelines/run.mk" "${common[@]}" OUT="$T/pipe" masks
  [ -s "$T/pipe/masks/alpha-sam-r0.05-s1.mask" ]
  [ -z "$(ls -A "$T/pipe/grads" 2>/dev/null)" ]
  make -s -f "$ROOT/pipelines/run.mk" "${common[@]}" OUT="$T/keep" KEEP_GRADS=1 masks
  [ -s "$T/keep/grads/alpha-s1.sum" ]
  # the same selection either way
  cmp <(inspect --json "$T/pipe/masks/alpha-sam-r0.05-s1.mask" | sed 1d) \
      <(inspect --json "$T/keep/masks/alpha-sam-r0.05-s1.mask" | sed 1d)
  make -s -f "$ROOT/pipelines/run.mk" "${common[@]}" OUT="$T/half" KEEP_GRADS=1 GRADS_DTYPE=bf16 grads
  inspect --json "$T/half/grads/alpha-s1.sum" | sed -n 2p | grep -q '"dtype":"bf16"'
  a=$(stat -c %s "$T/keep/grads/alpha-s1.sum") b=$(stat -c %s "$T/half/grads/alpha-s1.sum")
  [ "$b" -lt $((a * 6 / 10)) ]
  rm -rf "$T"
}
