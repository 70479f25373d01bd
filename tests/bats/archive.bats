#!/usr/bin/env bats
# Every stream input may be an archive member, ARCHIVE:MEMBER (sparsetune(7)).
load helper

setup_file() {
  export AT=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 2 -o "$AT/m"
  python3 "$ROOT/pipelines/make-demo-data.py" "$AT/data" 48 0
  for s in train val test; do
    tokenize --vocab "$AT/m" --text-fields text --label-field label "$AT/data/$s.jsonl" -o "$AT/$s.ex"
  done
  gradacc --model "$AT/m" --steps 2 --batch 4 -q "$AT/train.ex" -o "$AT/g.grads"
  sam-select --ratio 0.05 "$AT/g.grads" -o "$AT/x.mask"
  masktrain --model "$AT/m" --mask "$AT/x.mask" --dev "$AT/val.ex" --max-steps 4 --eval-every 2 -q \
    "$AT/train.ex" -o "$AT/x.delta"
  evaluate --model "$AT/m" --delta "$AT/x.delta" "$AT/test.ex" -o "$AT/x.metrics"
  (cd "$AT" && zip -q streams.zip train.ex val.ex test.ex g.grads x.mask x.delta x.metrics &&
     mkdir -p pack/runs && cp x.mask x.delta test.ex pack/runs/ && tar -czf streams.tar.gz -C pack runs)
}
teardown_file() { rm -rf "$AT"; }

@test "every tool reads its streams from a zip member: the same results as from files" {
  local z=$AT/streams.zip
  sam-select --ratio 0.05 "$z:g.grads" -o "$AT/z.mask"
  cmp <(inspect --json "$AT/x.mask" | sed 1d) <(inspect --json "$AT/z.mask" | sed 1d)
  masktrain --model "$AT/m" --mask "$z:x.mask" --dev "$z:val.ex" --max-steps 4 --eval-every 2 -q \
    "$z:train.ex" -o "$AT/z.delta"
  cmp <(inspect --json "$AT/x.delta" | sed 1d) <(inspect --json "$AT/z.delta" | sed 1d)
  evaluate --model "$AT/m" --delta "$z:x.delta" "$z:test.ex" -o "$AT/z.metrics"
  cmp <(inspect --json "$AT/x.metrics" | sed 1d) <(inspect --json "$AT/z.metrics" | sed 1d)
  run inspect "$z:x.mask"
  assert_success
  assert_output --partial "kind mask"
  run stats "$z:x.metrics"
  assert_success
  run stats --masks "$z:x.mask"
  assert_success
  inspect --to "$AT/g.safetensors" "$z:g.grads"
  [ -s "$AT/g.safetensors" ]
}

@test "a compressed tar member under a folder works; a missing member is a clear error" {
  local t=$AT/streams.tar.gz
  evaluate --model "$AT/m" --delta "$t:runs/x.delta" "$t:runs/test.ex" -o "$AT/t.metrics"
  cmp <(inspect --json "$AT/x.metrics" | sed 1d) <(inspect --json "$AT/t.metrics" | sed 1d)
  run inspect "$t:runs/none.mask"
  assert_failure 1
  assert_output --partial "no member 'runs/none.mask'"
  run evaluate --model "$AT/m" --delta "$AT/streams.zip:x.mask" "$AT/test.ex" -o "$AT/bad.metrics"
  assert_failure 1
  [ ! -e "$AT/bad.metrics" ]
}
