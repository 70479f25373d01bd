#!/usr/bin/env bats
# evaluate(1): metrics records, predictions, deltas applied to the base model, HF export.
load helper

setup_file() {
  export ETMP=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$ETMP/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$ETMP/data" 64 0
  tokenize --vocab "$ETMP/tiny" --text-fields text --label-field label "$ETMP/data/test.jsonl" -o "$ETMP/test.ex"
  sha=$(sha256sum "$ETMP/tiny/model.safetensors" | cut -d' ' -f1)
  # a hand-made delta: +0.5 at two entries of a query matrix, and a head whose bias
  # forces class 0 ("negative")
  PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$ETMP/d.delta" "$sha" <<'PY'
import sys
import numpy as np
import mkstream as m
path, sha = sys.argv[1:3]
H = 32
rng = np.random.default_rng(0)
recs = [
    m.delta("roberta.encoder.layer.0.attention.self.query.weight", [H, H],
            np.array([3, 70], dtype="<u4"), np.array([0.5, 0.5], dtype="<f4")),
    m.tensor("classifier.dense.weight", "f32", (rng.standard_normal((H, H)) * 0.02).astype("<f4")),
    m.tensor("classifier.dense.bias", "f32", np.zeros(H, "<f4")),
    m.tensor("classifier.out_proj.weight", "f32", np.zeros((2, H), "<f4")),
    m.tensor("classifier.out_proj.bias", "f32", np.array([5, -5], "<f4")),
]
m.write(path, "delta", recs, meta={"base_model_sha256": sha, "method": "sam", "ratio": 0.005, "seed": 7})
PY
}
teardown_file() { rm -rf "$ETMP"; }

@test "metrics record: headline metric, components, n, labels from the delta" {
  evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" "$ETMP/test.ex" -o "$ETMP/m.st"
  run sh -c "inspect --json '$ETMP/m.st' | sed -n 2p"
  assert_output --partial '"method":"sam"'
  assert_output --partial '"seed":7'
  assert_output --partial '"ratio":0.005'
  assert_output --partial '"n":40'
  assert_output --partial '"split":"test"'
  # the head predicts class 0 everywhere: accuracy = share of label 0 in the data
  want=$(/usr/bin/python3 -c "
import json
rows=[json.loads(l) for l in open('$ETMP/data/test.jsonl')]
print(sum(r['label']=='negative' for r in rows)/len(rows))")
  got=$(inspect --json "$ETMP/m.st" | sed -n 2p | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['metric'])")
  /usr/bin/python3 -c "assert abs($got - $want) < 1e-9, ($got, $want)"
}

@test "--predictions: one record per example with gold, prediction and scores" {
  evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" --predictions "$ETMP/p.st" "$ETMP/test.ex" -o "$ETMP/m2.st"
  run sh -c "inspect --json '$ETMP/p.st' | tail -n 1"
  assert_output '{"end":true,"count":40}'
  run sh -c "inspect --json '$ETMP/p.st' | grep -c '\"pred\":0'"
  assert_output "40"
}

@test "--export writes base + delta as an HF directory that evaluates the same" {
  evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" --export "$ETMP/ft" "$ETMP/test.ex" -o "$ETMP/m3.st"
  for f in config.json model.safetensors vocab.json merges.txt; do [ -s "$ETMP/ft/$f" ]; done
  run env PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$ETMP/tiny/model.safetensors" "$ETMP/ft/model.safetensors" <<'PY'
import json, struct, sys
import numpy as np
from st_numpy import load
base, ft = load(sys.argv[1]), load(sys.argv[2])
q = "roberta.encoder.layer.0.attention.self.query.weight"
for k, v in base.items():
    if k.startswith("roberta.pooler."):  # the delta is hf's (no "head"): no pooler
        assert k not in ft, k
        continue
    d = ft[k] - v
    if k == q:
        assert set(np.nonzero(d)[0]) == {3, 70} and np.allclose(d[[3, 70]], 0.5), np.nonzero(d)
    else:
        assert not d.any(), k
assert list(ft["classifier.out_proj.bias"]) == [5, -5]
print("ok")
PY
  assert_output "ok"
  evaluate --model "$ETMP/ft" "$ETMP/test.ex" -o "$ETMP/m4.st"
  a=$(inspect --json "$ETMP/m3.st" | sed -n 2p | grep -o '"metric":[^,]*')
  b=$(inspect --json "$ETMP/m4.st" | sed -n 2p | grep -o '"metric":[^,]*')
  [ "$a" = "$b" ]
}

@test "a delta for another base model is refused (unless --force)" {
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 2 -o "$ETMP/other"
  run evaluate --model "$ETMP/other" --delta "$ETMP/d.delta" "$ETMP/test.ex" -o "$ETMP/x.st"
  assert_failure 1
  assert_output --partial "another base model"
  [ ! -e "$ETMP/x.st" ]
  evaluate --model "$ETMP/other" --delta "$ETMP/d.delta" --force "$ETMP/test.ex" -o "$ETMP/x.st"
}

@test "evaluate: bad input and usage" {
  head -c 100 "$ETMP/d.delta" > "$ETMP/cut.delta"
  run evaluate --model "$ETMP/tiny" --delta "$ETMP/cut.delta" "$ETMP/test.ex" -o "$ETMP/y.st"
  assert_failure 1
  [ ! -e "$ETMP/y.st" ]
  run evaluate "$ETMP/test.ex"
  assert_failure 2
  run evaluate --help
  assert_success
}

@test "evaluate on the paper's tasks: every metric of PAPER.md is computed" {
  need_shared
  init-model --vocab "$SHARED_DATA/roberta-vocab" --seed 2 -o "$ETMP/tr"
  for t in cb cola copa mrpc rte stsb wsc; do
    tokenize --task $t --vocab "$ETMP/tr" --max-len 128 "$SHARED_DATA/tasks/$t/val.jsonl" -o "$ETMP/$t.ex"
    evaluate --model "$ETMP/tr" "$ETMP/$t.ex" -o "$ETMP/$t.m"
    inspect --json "$ETMP/$t.m" | sed -n 2p > "$ETMP/$t.json"
  done
  grep -q '"mcc"' "$ETMP/cola.json"
  grep -q '"pearson"' "$ETMP/stsb.json"; grep -q '"spearman"' "$ETMP/stsb.json"
  grep -q '"f1"' "$ETMP/mrpc.json"
  grep -q '"macro_f1"' "$ETMP/cb.json"
}

@test "--split names the split of the metrics record (default test); a bad one is a usage error" {
  evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" "$ETMP/test.ex" -o "$ETMP/s1.st"
  inspect --json "$ETMP/s1.st" | sed -n 2p | grep -q '"split":"test"'
  evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" --split train "$ETMP/test.ex" -o "$ETMP/s2.st"
  inspect --json "$ETMP/s2.st" | sed -n 2p | grep -q '"split":"train"'
  # the two evaluations are different runs for stats
  run stats --split train "$ETMP/s1.st" "$ETMP/s2.st"
  assert_success
  run evaluate --model "$ETMP/tiny" --split validation "$ETMP/test.ex"
  assert_failure 2
  assert_output --partial "--split: expected test, dev or train"
}

@test "unlabeled examples: --predictions with predicted label names and no metrics; without it a clear error" {
  head -n 6 "$ETMP/data/test.jsonl" | sed 's/, *"label": *"[a-z]*"//' > "$ETMP/nolabel.jsonl"
  tokenize --vocab "$ETMP/tiny" --text-fields text --labels negative,positive "$ETMP/nolabel.jsonl" -o "$ETMP/nl.ex"
  ! inspect --json "$ETMP/nl.ex" | sed -n 2p | grep -q '"label"'
  # without --labels the classes come from a delta that names them (masktrain's do)
  tokenize --vocab "$ETMP/tiny" --text-fields text "$ETMP/nolabel.jsonl" -o "$ETMP/nl0.ex"
  sam-select --method random --ratio 0.05 --model "$ETMP/tiny" -o "$ETMP/nl.mask"
  masktrain --model "$ETMP/tiny" --mask "$ETMP/nl.mask" --dev "$ETMP/test.ex" --max-steps 0 -q "$ETMP/test.ex" -o "$ETMP/nl.delta"
  evaluate --model "$ETMP/tiny" --delta "$ETMP/nl.delta" --predictions "$ETMP/nl0.pred" "$ETMP/nl0.ex"
  [ "$(inspect --json "$ETMP/nl0.pred" | grep -cE '"pred_label":"(negative|positive)"')" -eq 6 ]
  run evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" --predictions "$ETMP/nl1.pred" "$ETMP/nl0.ex"
  assert_failure 1
  assert_output --partial "the examples name no classes and the delta"
  evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" --predictions "$ETMP/nl.pred" "$ETMP/nl.ex" -o "$ETMP/nl.metrics"
  [ ! -e "$ETMP/nl.metrics" ]
  run inspect --json "$ETMP/nl.pred"
  assert_line --index 1 --regexp '"pred":0,"pred_label":"negative","scores":\['
  [ "$(inspect --json "$ETMP/nl.pred" | grep -c pred_label)" -eq 6 ]
  run evaluate --model "$ETMP/tiny" --delta "$ETMP/d.delta" "$ETMP/nl.ex" -o "$ETMP/nl2.metrics"
  assert_failure 1
  assert_output --partial "no labeled examples to score; to predict, write --predictions FILE"
  [ ! -e "$ETMP/nl2.metrics" ]
}

@test "a delta trained for other labels is refused, naming both label sets; masktrain checks train vs dev" {
  local d=$ETMP/lab
  mkdir -p "$d"
  printf '%s\n' '{"text":"good film","label":"pos"}' '{"text":"bad film","label":"neg"}' \
    '{"text":"fine","label":"meh"}' > "$d/train.jsonl"
  printf '%s\n' '{"text":"good","label":"pos"}' '{"text":"bad","label":"neg"}' > "$d/test.jsonl"
  tokenize --vocab "$ETMP/tiny" --text-fields text --label-field label "$d/train.jsonl" -o "$d/train.ex"
  tokenize --vocab "$ETMP/tiny" --text-fields text --label-field label "$d/test.jsonl" -o "$d/test2.ex"
  tokenize --vocab "$ETMP/tiny" --text-fields text --label-field label --labels pos,neg,meh "$d/test.jsonl" -o "$d/test3.ex"
  sam-select --method random --ratio 0.05 --model "$ETMP/tiny" -o "$d/k.mask"
  run masktrain --model "$ETMP/tiny" --mask "$d/k.mask" --dev "$d/test3.ex" --max-steps 1 -q "$d/train.ex" -o "$d/x.delta"
  assert_failure 1
  assert_output --partial 'its labels ["pos","neg","meh"] are not the training set'"'"'s ["meh","neg","pos"]'
  masktrain --model "$ETMP/tiny" --mask "$d/k.mask" --dev "$d/train.ex" --max-steps 1 -q "$d/train.ex" -o "$d/x.delta"
  run evaluate --model "$ETMP/tiny" --delta "$d/x.delta" "$d/test2.ex" -o "$d/m.st"
  assert_failure 1
  assert_output --partial "the delta was trained for 3 labels, these examples have 2"
  [ ! -e "$d/m.st" ]
  run evaluate --model "$ETMP/tiny" --delta "$d/x.delta" "$d/test3.ex" -o "$d/m.st"
  assert_failure 1
  assert_output --partial 'trained for the labels ["meh","neg","pos"] (in this order), these examples have ["pos","neg","meh"]'
  tokenize --vocab "$ETMP/tiny" --text-fields text --label-field label --labels meh,neg,pos "$d/test.jsonl" -o "$d/test4.ex"
  evaluate --model "$ETMP/tiny" --delta "$d/x.delta" "$d/test4.ex" -o "$d/m.st"
}
