#!/usr/bin/env bats
# The whole chain tokenize -> gradacc -> sam-select -> masktrain -> evaluate -> stats on the
# tiny model with the paper's CB and STS-B data, for every method of sam-select, through
# pipelines/run.mk.
load helper

@test "chain on CB and STS-B for every sam-select method (run.mk)" {
  need_shared
  T=$(mktemp -d)
  init-model --vocab "$SHARED_DATA/roberta-vocab" --seed 1 -o "$T/tiny"
  make -s -j2 -f "$ROOT/pipelines/run.mk" BIN="$BIN" MODEL="$T/tiny" DATA="$SHARED_DATA/tasks" OUT="$T/out" \
    TASKS="cb stsb" METHODS="sam fisher abs random magnitude bitfit full" SEEDS=1 MAXLEN=128 \
    STEPS_cb=3 STEPS_stsb=3 BATCH=8 MT_OPTS="--max-steps 12 --eval-every 6 --lr 1e-3" all
  n=$(ls "$T/out/metrics/"*.metrics | wc -l)
  [ "$n" -eq 14 ]
  run "$BIN/stats" --format json "$T/out/metrics/"*.metrics
  assert_success
  for m in sam fisher abs random magnitude bitfit full; do assert_output --partial "\"$m\""; done
  run "$BIN/stats" "$T/out/metrics/"*.metrics
  assert_output --partial "cb"
  assert_output --partial "stsb"
  # every metrics record names its task, method and ratio from the provenance of its delta
  run sh -c "for f in '$T'/out/metrics/*.metrics; do inspect --json \"\$f\" | sed -n 2p; done"
  assert_output --partial '"task":"cb","method":"sam","seed":1,"ratio":0.005'
  assert_output --partial '"task":"stsb","method":"bitfit"'
  rm -rf "$T"
}
