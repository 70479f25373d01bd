#!/usr/bin/env bats
# sam-select(1): every method against a brute-force reference written in Python.
load helper

setup_file() {
  export STMP=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$STMP/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$STMP/data" 48 0
  tokenize --vocab "$STMP/tiny" --text-fields text --label-field label "$STMP/data/train.jsonl" -o "$STMP/train.ex"
  gradacc --model "$STMP/tiny" --steps 3 --batch 8 --seed 1 -q "$STMP/train.ex" -o "$STMP/g.sum"
  gradacc --model "$STMP/tiny" --steps 3 --batch 8 --seed 1 -q --reduce sumsq "$STMP/train.ex" -o "$STMP/g.sumsq"
  gradacc --model "$STMP/tiny" --steps 3 --batch 8 --seed 1 -q --reduce abs "$STMP/train.ex" -o "$STMP/g.abs"
  inspect --to "$STMP/g.sum.safetensors" "$STMP/g.sum"
  inspect --to "$STMP/g.sumsq.safetensors" "$STMP/g.sumsq"
  inspect --to "$STMP/g.abs.safetensors" "$STMP/g.abs"
}
teardown_file() { rm -rf "$STMP"; }

# check METHOD MASK SCORES.safetensors [RATIO] [SCOPE]: brute force with numpy's stable sort
check() {
  inspect --json "$2" > "$2.json"
  /usr/bin/python3 "$ROOT/tests/tools/check_mask.py" "$1" "$2.json" "$3" "${4:-0.005}" "${5:-tensor}"
}

@test "sam: per-tensor top floor(p*numel) of |G| agrees exactly with a brute-force reference" {
  sam-select --ratio 0.05 "$STMP/g.sum" -o "$STMP/sam.mask"
  run check sam "$STMP/sam.mask" "$STMP/g.sum.safetensors" 0.05
  assert_success
  assert_output --partial "ok"
}

@test "fisher and abs rank their own reductions; a wrong reduction is refused" {
  sam-select --method fisher --ratio 0.05 "$STMP/g.sumsq" -o "$STMP/f.mask"
  run check fisher "$STMP/f.mask" "$STMP/g.sumsq.safetensors" 0.05
  assert_success
  sam-select --method abs --ratio 0.05 "$STMP/g.abs" -o "$STMP/a.mask"
  run check abs "$STMP/a.mask" "$STMP/g.abs.safetensors" 0.05
  assert_success
  run sam-select --method fisher "$STMP/g.sum" -o "$STMP/x.mask"
  assert_failure 1
  assert_output --partial "gradacc --reduce sumsq"
  [ ! -e "$STMP/x.mask" ]
}

@test "global scope: the top p of all masked entries together" {
  sam-select --ratio 0.02 --scope global "$STMP/g.sum" -o "$STMP/glob.mask"
  run check sam "$STMP/glob.mask" "$STMP/g.sum.safetensors" 0.02 global
  assert_success
}

@test "magnitude ranks |theta0| of the model" {
  sam-select --method magnitude --ratio 0.05 --model "$STMP/tiny" -o "$STMP/mag.mask"
  run check magnitude "$STMP/mag.mask" "$STMP/tiny/model.safetensors" 0.05
  assert_success
}

@test "random: exactly k unique entries per tensor, reproducible by seed" {
  sam-select --method random --ratio 0.05 --seed 3 "$STMP/g.sum" -o "$STMP/r3.mask"
  sam-select --method random --ratio 0.05 --seed 3 --model "$STMP/tiny" -o "$STMP/r3m.mask"
  sam-select --method random --ratio 0.05 --seed 4 "$STMP/g.sum" -o "$STMP/r4.mask"
  run check random "$STMP/r3.mask" "$STMP/g.sum.safetensors" 0.05
  assert_success
  recs() { inspect --json "$1" | grep "\"name\":\"roberta\."; }
  [ "$(recs "$STMP/r3.mask")" = "$(recs "$STMP/r3m.mask")" ]   # same names, same draws
  [ "$(recs "$STMP/r3.mask")" != "$(recs "$STMP/r4.mask")" ]
}

@test "bitfit marks every bias, full marks everything, the head is always all:true" {
  sam-select --method bitfit "$STMP/g.sum" -o "$STMP/b.mask"
  run check bitfit "$STMP/b.mask" "$STMP/g.sum.safetensors"
  assert_success
  sam-select --method full "$STMP/g.sum" -o "$STMP/full.mask"
  run check full "$STMP/full.mask" "$STMP/g.sum.safetensors"
  assert_success
}

@test "--include/--exclude choose the masked tensors" {
  sam-select --ratio 0.1 --include '*.attention.self.*' --exclude '*.bias' "$STMP/g.sum" -o "$STMP/p.mask"
  run sh -c "inspect --json '$STMP/p.mask' | grep -o '\"name\":\"[^\"]*\"' | sort -u"
  assert_output --partial 'roberta.encoder.layer.0.attention.self.query.weight'
  assert_output --partial 'classifier.dense.weight'
  refute_output --partial 'query.bias'
  refute_output --partial 'intermediate'
  run sam-select --include 'nothing*' "$STMP/g.sum"
  assert_failure 1
  assert_output --partial "no tensor matches"
}

@test "inspect prints masks: density per record; --json the complete index lists" {
  sam-select --ratio 0.05 "$STMP/g.sum" -o "$STMP/sam.mask"
  run inspect "$STMP/sam.mask"
  assert_success
  assert_output --partial "kind mask"
  assert_output --partial "method: \"sam\""
}

@test "bad input: truncated grads, a model stream instead of grads, usage errors" {
  head -c 3000 "$STMP/g.sum" > "$STMP/cut"
  run sam-select "$STMP/cut" -o "$STMP/y.mask"
  assert_failure 1
  assert_output --partial "truncated"
  [ ! -e "$STMP/y.mask" ]
  run sam-select "$STMP/train.ex"
  assert_failure 1
  assert_output --partial "expected"
  run sam-select --method magnitude "$STMP/g.sum"
  assert_failure 2
  run sam-select --ratio 2 "$STMP/g.sum"
  assert_failure 2
}
