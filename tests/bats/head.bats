#!/usr/bin/env bats
# --head jiant|hf (sparsetune(7), HEAD ARCHITECTURES): the pooled head of the paper's models
# and HF's classes, through gradacc, sam-select, masktrain and evaluate; gradients against an
# independent float64 PyTorch reference (tests/ref/check_grads.py).
load helper

PY=/usr/bin/python3

setup_file() {
  export HT=$(mktemp -d)
  cat > "$HT/cb.jsonl" <<'EOF'
{"premise":"the cat sat on the mat","hypothesis":"a cat sat","label":"entailment"}
{"premise":"no dog was here today","hypothesis":"a dog is here","label":"contradiction"}
{"premise":"it may rain later","hypothesis":"it rains now","label":"neutral"}
{"premise":"she is not happy at all","hypothesis":"she is happy","label":"contradiction"}
EOF
  cat > "$HT/stsb.jsonl" <<'EOF'
{"text_a":"a man plays a flute","text_b":"a man is playing music","label":3.8}
{"text_a":"the cat sat","text_b":"dogs run fast in the park","label":0.4}
{"text_a":"it is raining","text_b":"rain falls","label":4.6}
EOF
  cat > "$HT/copa.jsonl" <<'EOF'
{"premise":"The man fell.","choice1":"He slipped.","choice2":"He ate.","question":"cause","label":0}
{"premise":"The girl was hungry.","choice1":"She slept.","choice2":"She ate lunch.","question":"effect","label":1}
{"premise":"It rained.","choice1":"The street got wet.","choice2":"The sun shone.","question":"effect","label":0}
EOF
  cat > "$HT/wsc.jsonl" <<'EOF'
{"text":"Mark told Pete many lies about himself, which Pete included in his book.","target":{"span1_index":0,"span1_text":"Mark","span2_index":5,"span2_text":"himself"},"label":true,"idx":0}
{"text":"The cat chased the dog because it was hungry.","target":{"span1_index":4,"span1_text":"dog","span2_index":6,"span2_text":"it"},"label":false,"idx":1}
EOF
  for t in cb stsb copa wsc; do
    tokenize --task $t --vocab "$FIXTURES/tiny-vocab" "$HT/$t.jsonl" -o "$HT/$t.ex"
  done
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 4 -o "$HT/pre"            # pooler, no head
  init-model --vocab "$FIXTURES/tiny-vocab" --head hf --task-head classification --num-labels 3 \
    --seed 4 -o "$HT/hfcls"                                                    # no pooler
}
teardown_file() { rm -rf "$HT"; }

need_torch() { "$PY" -c 'import torch' 2>/dev/null || skip "/usr/bin/python3 has no torch (python3-torch)"; }

# gradacc's full-batch gradient of model $1 on task $2 with --head $3, against the reference
ref_check() {
  local model=$1 task=$2 arch=$3 n
  n=$(inspect --json "$HT/$task.ex" | tail -n 1 | grep -o '"count":[0-9]*' | cut -d: -f2)
  gradacc --model "$model" --head "$arch" --steps 1 --batch "$n" --dropout 0 -q "$HT/$task.ex" -o "$HT/$task.$arch.grads"
  inspect --to "$HT/$task.$arch.safetensors" "$HT/$task.$arch.grads"
  inspect --json "$HT/$task.ex" > "$HT/$task.jsonl.ex"
  run "$PY" "$ROOT/tests/ref/check_grads.py" "$model" "$HT/$task.jsonl.ex" "$HT/$task.$arch.safetensors" "$arch"
  echo "# $output" >&3
  assert_success
}

@test "gradacc --head jiant: CB, STS-B, COPA, WSC gradients equal the float64 PyTorch reference (pooler included)" {
  need_torch
  local kinds=(cb:classification:3 stsb:regression:2 copa:multiple_choice:2 wsc:span:2) kv t k n
  for kv in "${kinds[@]}"; do
    IFS=: read -r t k n <<< "$kv"
    init-model --vocab "$FIXTURES/tiny-vocab" --task-head "$k" --num-labels "$n" --seed 5 -o "$HT/i-$t"
    "$PY" "$ROOT/tests/ref/check_grads.py" scramble "$HT/i-$t" "$HT/j-$t" 5
    ref_check "$HT/j-$t" "$t" jiant
    inspect "$HT/$t.jiant.grads" | grep -q "roberta.pooler.dense.weight"
  done
}

@test "gradacc --head hf: RobertaForSequenceClassification (no pooler) and RobertaForMultipleChoice" {
  need_torch
  "$PY" "$ROOT/tests/ref/check_grads.py" scramble "$HT/hfcls" "$HT/hfcls-s" 6
  ref_check "$HT/hfcls-s" cb hf
  run inspect "$HT/cb.hf.grads"
  refute_output --partial "roberta.pooler"
  init-model --vocab "$FIXTURES/tiny-vocab" --head hf --task-head multiple_choice --seed 6 -o "$HT/hfmc0"
  "$PY" "$ROOT/tests/ref/check_grads.py" scramble "$HT/hfmc0" "$HT/hfmc" 7
  ref_check "$HT/hfmc" copa hf
  inspect "$HT/copa.hf.grads" | grep -q "classifier.weight"
}

@test "headers record the architecture; SAM selects inside the pooler; stats counts it as pooler" {
  gradacc --model "$HT/pre" --steps 2 --batch 2 -q "$HT/cb.ex" -o "$HT/cb.g"
  inspect --json "$HT/cb.g" | head -n 1 | grep -q '"head":"jiant"'
  inspect --json "$HT/cb.g" | head -n 1 | grep -q '"pooler_from_checkpoint":true'
  sam-select --ratio 0.05 "$HT/cb.g" -o "$HT/cb.mask"
  inspect --json "$HT/cb.mask" | head -n 1 | grep -q '"head":"jiant"'
  run inspect "$HT/cb.mask"
  assert_output --partial "roberta.pooler.dense.weight"
  run stats --masks "$HT/cb.mask"
  assert_success
  assert_output --partial "pooler"
  masktrain --model "$HT/pre" --mask "$HT/cb.mask" --dev "$HT/cb.ex" --max-steps 2 --eval-every 1 \
    --batch 2 -q "$HT/cb.ex" -o "$HT/cb.delta"
  inspect --json "$HT/cb.delta" | head -n 1 | grep -q '"head":"jiant"'
  # a pooler from the checkpoint travels as sparse entries, like any encoder tensor
  inspect --json "$HT/cb.delta" | grep '"name":"roberta.pooler.dense.weight"' | grep -q '"index"'
  evaluate --model "$HT/pre" --delta "$HT/cb.delta" "$HT/cb.ex" -o "$HT/cb.metrics"
  inspect --json "$HT/cb.metrics" | head -n 1 | grep -q '"head":"jiant"'
}

@test "masktrain refuses a mask of the other architecture; evaluate refuses a --head the delta was not trained with" {
  sam-select --method random --head hf --model "$HT/pre" -o "$HT/hf.mask"
  run inspect "$HT/hf.mask"
  refute_output --partial "roberta.pooler"
  run masktrain --model "$HT/pre" --mask "$HT/hf.mask" --dev "$HT/cb.ex" --max-steps 1 -q "$HT/cb.ex" -o "$HT/x.delta"
  assert_failure 1
  assert_output --partial "the mask was made for --head hf"
  [ ! -e "$HT/x.delta" ]
  run sam-select --head hf "$HT/cb.g" -o "$HT/y.mask"
  assert_failure 1
  assert_output --partial "computed with --head jiant"
  masktrain --model "$HT/pre" --head hf --mask "$HT/hf.mask" --dev "$HT/cb.ex" --max-steps 1 -q "$HT/cb.ex" -o "$HT/hf.delta"
  run evaluate --model "$HT/pre" --head jiant --delta "$HT/hf.delta" "$HT/cb.ex"
  assert_failure 1
  assert_output --partial "trained with --head hf"
  evaluate --model "$HT/pre" --delta "$HT/hf.delta" "$HT/cb.ex" -o "$HT/hf.metrics"
  inspect --json "$HT/hf.metrics" | head -n 1 | grep -q '"head":"hf"'
  run gradacc --model "$HT/pre" --head pooled --steps 1 "$HT/cb.ex"
  assert_failure 2
  assert_output --partial "expected jiant or hf"
}

@test "a pooler the checkpoint lacks is initialised from the seed and shipped whole in the delta" {
  # hfcls has no pooler (RobertaForSequenceClassification) but a 3-label head
  sam-select --method random --ratio 0.1 --model "$HT/hfcls" -o "$HT/init.mask"
  masktrain --model "$HT/hfcls" --mask "$HT/init.mask" --dev "$HT/cb.ex" --seed 3 --max-steps 2 \
    --eval-every 1 --batch 2 -q "$HT/cb.ex" -o "$HT/init.delta"
  inspect --json "$HT/init.delta" | head -n 1 | grep -q '"pooler_from_checkpoint":false'
  inspect --json "$HT/init.delta" | grep '"name":"roberta.pooler.dense.weight"' | grep -q '"data"'
  # the dense record replaces the pooler: evaluate gives the same result under any --seed
  evaluate --model "$HT/hfcls" --delta "$HT/init.delta" --predictions "$HT/p1" "$HT/cb.ex" -o "$HT/m1"
  evaluate --model "$HT/hfcls" --delta "$HT/init.delta" --seed 99 --predictions "$HT/p2" "$HT/cb.ex" -o "$HT/m2"
  cmp <(inspect --json "$HT/p1" | sed 1d) <(inspect --json "$HT/p2" | sed 1d)
}
