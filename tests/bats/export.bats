#!/usr/bin/env bats
# evaluate --export: every head kind x head architecture, loaded with PyTorch as what its
# config.json claims — HF's classes through tests/tools/hf_roberta.py (a plain-torch
# re-implementation, transformers cannot be installed here), every export through the
# modeling_sparsetune.py it carries — and compared with evaluate --predictions to 1e-5.
load helper

PY=/usr/bin/python3
TOOLS=$ROOT/tests/tools

setup_file() {
  export XTMP=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 3 -o "$XTMP/tiny"
  $PY "$TOOLS/tiny_tasks.py" "$XTMP/data" 16 5
  for t in rte stsb copa wsc; do
    for s in train val test; do
      tokenize --task $t --vocab "$XTMP/tiny" "$XTMP/data/$t/$s.jsonl" -o "$XTMP/$t.$s.ex"
    done
  done
}
teardown_file() { rm -rf "$XTMP"; }

need_torch() {
  $PY -c "import torch" 2>/dev/null || skip "$PY has no torch (python3-torch)"
}

# train TASK ARCH: burn-in, a 5 % SAM mask, a short masktrain run, then evaluate with
# --predictions and --export into $XTMP/TASK-ARCH.
train() {
  local t=$1 arch=$2 d=$XTMP/$1-$2
  gradacc --model "$XTMP/tiny" --head "$arch" --steps 3 --batch 8 --seed 1 -q "$XTMP/$t.train.ex" |
    sam-select --ratio 0.05 -o "$d.mask"
  masktrain --model "$XTMP/tiny" --head "$arch" --mask "$d.mask" --dev "$XTMP/$t.val.ex" --seed 1 \
    --batch 8 --max-steps 12 --eval-every 12 --lr 3e-2 -q "$XTMP/$t.train.ex" -o "$d.delta"
  evaluate --model "$XTMP/tiny" --delta "$d.delta" --predictions "$d.pred" --export "$d" \
    "$XTMP/$t.test.ex" -o "$d.metrics"
  # the delta is not trivial: sparse encoder entries and a dense head
  PYTHONPATH="$TOOLS" $PY - "$d.delta" <<'PY'
import sys
import streamread as sr
_, recs = sr.read(sys.argv[1])
sparse = [r for r in recs if "index" in r and r["name"].startswith("roberta.") and any(sr.floats(r["value"]))]
head = [r for r in recs if r["name"].startswith("classifier.") and "data" in r]
assert sparse and head, (len(sparse), len(head))
PY
}

# check TASK ARCH CLASS: config.json names CLASS; HF's classes load with hf_roberta.py, every
# export with its own modeling_sparsetune.py; both agree with the predictions to 1e-5.
check() {
  local d=$XTMP/$1-$2 class=$3
  run $PY -c "import json,sys; c=json.load(open('$d/config.json')); print(c['architectures'][0], c['model_type'], c['sparsetune']['head_arch'])"
  assert_success
  case $class in
    Roberta*) assert_output "$class roberta $2"
              run $PY "$TOOLS/check_export.py" --impl hf "$d" "$XTMP/$1.test.ex" "$d.pred"
              assert_success
              echo "# $1 $2 hf_roberta.py: $output" >&3 ;;
    *)        assert_output "$class sparsetune-roberta $2" ;;
  esac
  run $PY "$TOOLS/check_export.py" --impl shipped "$d" "$XTMP/$1.test.ex" "$d.pred"
  assert_success
  echo "# $1 $2 modeling_sparsetune.py: $output" >&3
  # the engine reads the export back and scores it the same
  evaluate --model "$d" "$XTMP/$1.test.ex" -o "$d.again"   # its own architecture (config.json)
  a=$(inspect --json "$d.metrics" | sed -n 2p | grep -o '"metric":[^,]*')
  b=$(inspect --json "$d.again" | sed -n 2p | grep -o '"metric":[^,]*')
  [ "$a" = "$b" ]
}

@test "export classification, hf: RobertaForSequenceClassification" {
  need_torch
  train rte hf
  check rte hf RobertaForSequenceClassification
  run $PY -c "import json; c=json.load(open('$XTMP/rte-hf/config.json')); print(c['id2label'], c['label2id'], c['num_labels'], c['problem_type'])"
  assert_output "{'0': 'entailment', '1': 'not_entailment'} {'entailment': 0, 'not_entailment': 1} 2 single_label_classification"
}

@test "export regression, hf: RobertaForSequenceClassification with one output" {
  need_torch
  train stsb hf
  check stsb hf RobertaForSequenceClassification
  run $PY -c "import json; c=json.load(open('$XTMP/stsb-hf/config.json')); print(c['id2label'], c['num_labels'], c['problem_type'])"
  assert_output "{'0': 'LABEL_0'} 1 regression"
}

@test "export multiple choice, hf: RobertaForMultipleChoice (pooler + classifier [1,H])" {
  need_torch
  train copa hf
  check copa hf RobertaForMultipleChoice
}

@test "export span, hf: our own class (no pooler)" {
  need_torch
  train wsc hf
  check wsc hf SparsetuneRobertaForSpanComparison
}

@test "export classification, jiant: our own class" {
  need_torch
  train rte jiant
  check rte jiant SparsetuneRobertaForSequenceClassification
}

@test "export regression, jiant: our own class" {
  need_torch
  train stsb jiant
  check stsb jiant SparsetuneRobertaForSequenceClassification
}

@test "export multiple choice, jiant: our own class" {
  need_torch
  train copa jiant
  check copa jiant SparsetuneRobertaForMultipleChoice
}

@test "export span, jiant: our own class (with the unused pooler)" {
  need_torch
  train wsc jiant
  check wsc jiant SparsetuneRobertaForSpanComparison
}

@test "a jiant export read as HF's RobertaForSequenceClassification (pooler dropped) is off by far more than 1e-5" {
  need_torch
  [ -d "$XTMP/rte-jiant" ] || train rte jiant
  # what transformers would do if the export claimed HF's class: load it and drop the pooler
  run env PYTHONPATH="$TOOLS" $PY - "$XTMP/rte-jiant" "$XTMP/rte.test.ex" "$XTMP/rte-jiant.pred" <<'PY'
import json, sys
import torch
import hf_roberta, st_numpy, streamread as sr
d, ex, pred = sys.argv[1:4]
cfg = json.load(open(d + "/config.json"))
shapes = hf_roberta.state_dict_shapes(cfg, "RobertaForSequenceClassification")
P = {k: torch.tensor(v, dtype=torch.float64).reshape(shapes[k])
     for k, v in st_numpy.load(d + "/model.safetensors").items() if k in shapes}
_, exs = sr.read(ex)
_, preds = sr.read(pred)
worst = 0.0
with torch.no_grad():
    for e, p in zip(exs, preds):
        got = hf_roberta.sequence_classification(P, cfg, torch.tensor([sr.ints(e["ids"])]))[0]
        worst = max(worst, (got - torch.tensor(sr.floats(p["scores"]), dtype=torch.float64)).abs().max().item())
print("off by %.3g" % worst)
assert worst > 1e-3, worst
PY
  assert_success
  echo "# rte jiant as HF's class: $output" >&3
}

@test "export: an existing directory is refused, a failed export leaves nothing" {
  mkdir "$XTMP/taken"
  run evaluate --model "$XTMP/tiny" --export "$XTMP/taken" "$XTMP/rte.test.ex" -o "$XTMP/t.m"
  assert_failure 1
  assert_output --partial "already exists"
  [ ! -e "$XTMP/t.m" ]
  # an unwritable parent: no directory, no temporary left behind
  mkdir "$XTMP/ro" && chmod 555 "$XTMP/ro"
  if [ "$(id -u)" != 0 ]; then
    run evaluate --model "$XTMP/tiny" --export "$XTMP/ro/x" "$XTMP/rte.test.ex" -o "$XTMP/t.m"
    assert_failure 1
    [ -z "$(ls -A "$XTMP/ro")" ]
  fi
  chmod 755 "$XTMP/ro"
}

@test "the shipped modeling file is the one in lib/ and runs on its own" {
  need_torch
  evaluate --model "$XTMP/tiny" --export "$XTMP/plain" "$XTMP/rte.test.ex" -o "$XTMP/p.m"
  cmp "$XTMP/plain/modeling_sparsetune.py" "$ROOT/lib/modeling_sparsetune.py"
  run $PY "$XTMP/plain/modeling_sparsetune.py" "$XTMP/plain" 0 100 2
  assert_success
  assert_output --partial "head classification (jiant), 2 outputs"
}
