#!/usr/bin/env bats
# init-model(1) and gradacc(1): the tiny model, gradient streams, determinism, all tasks.
load helper

setup_file() {
  export MTMP=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$MTMP/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$MTMP/data" 64 0
  tokenize --vocab "$MTMP/tiny" --text-fields text --label-field label "$MTMP/data/train.jsonl" -o "$MTMP/train.ex"
}
teardown_file() { rm -rf "$MTMP"; }

@test "init-model writes an HF directory that python reads back" {
  for f in config.json model.safetensors vocab.json merges.txt; do [ -s "$MTMP/tiny/$f" ]; done
  run env PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$MTMP/tiny" <<'PY'
import json, struct, sys
d = sys.argv[1]
cfg = json.load(open(d + "/config.json"))
assert cfg["model_type"] == "roberta" and cfg["hidden_size"] == 32 and cfg["num_hidden_layers"] == 2
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
names = [k for k in hdr if k != "__metadata__"]
assert "roberta.embeddings.word_embeddings.weight" in names, names[:5]
assert "roberta.encoder.layer.1.output.LayerNorm.bias" in names
assert not any(k.startswith("classifier.") for k in names)
assert hdr["roberta.embeddings.word_embeddings.weight"]["shape"] == [cfg["vocab_size"], 32]
print("ok", len(names))
PY
  assert_success
  assert_output --partial "ok"
}

@test "init-model refuses an existing directory and bad sizes" {
  run init-model --vocab "$FIXTURES/tiny-vocab" -o "$MTMP/tiny"
  assert_failure 1
  assert_output --partial "already exists"
  run init-model --vocab "$FIXTURES/tiny-vocab" --hidden 30 --heads 4 -o "$MTMP/x"
  assert_failure 2
  [ ! -e "$MTMP/x" ]
}

@test "gradacc writes one f32 gradient per parameter, head included" {
  gradacc --model "$MTMP/tiny" --steps 2 --batch 4 --seed 1 "$MTMP/train.ex" -o "$MTMP/g.st"
  run inspect "$MTMP/g.st"
  assert_success
  assert_output --partial "role: \"grads\""
  assert_output --partial "roberta.encoder.layer.0.attention.self.query.weight"
  assert_output --partial "classifier.out_proj.weight"
  n=$(inspect --json "$MTMP/g.st" | grep -c '"name"')
  m=$(/usr/bin/python3 -c "
import json,struct;raw=open('$MTMP/tiny/model.safetensors','rb').read();n=struct.unpack('<Q',raw[:8])[0]
print(len([k for k in json.loads(raw[8:8+n]) if k!='__metadata__']))")
  [ "$n" -eq $((m + 4)) ]   # encoder tensors + the 4 classification-head tensors
}

@test "same seed gives a byte-identical gradient stream; another seed changes dropout" {
  gradacc --model "$MTMP/tiny" --steps 2 --batch 4 --seed 5 -q "$MTMP/train.ex" -o "$MTMP/a.st"
  gradacc --model "$MTMP/tiny" --steps 2 --batch 4 --seed 5 -q "$MTMP/train.ex" -o "$MTMP/b.st"
  gradacc --model "$MTMP/tiny" --steps 2 --batch 4 --seed 6 -q "$MTMP/train.ex" -o "$MTMP/c.st"
  data() { inspect --json --max-elems 100000000 "$1" | tail -n +2; }  # records only (no time stamps)
  [ "$(data "$MTMP/a.st")" = "$(data "$MTMP/b.st")" ]
  [ "$(data "$MTMP/a.st")" != "$(data "$MTMP/c.st")" ]
}

@test "--dropout 0: the gradient is a pure function of the data, whatever the seed's data order" {
  # a checkpoint head, so the seed only changes the order of the examples
  init-model --vocab "$FIXTURES/tiny-vocab" --head classification --seed 3 -o "$MTMP/tiny-head"
  n=$(inspect --json "$MTMP/train.ex" | tail -n 1 | grep -o '[0-9]*')
  gradacc --model "$MTMP/tiny-head" --steps 1 --batch "$n" --dropout 0 --seed 1 -q "$MTMP/train.ex" -o "$MTMP/d1.st"
  gradacc --model "$MTMP/tiny-head" --steps 1 --batch "$n" --dropout 0 --seed 2 -q "$MTMP/train.ex" -o "$MTMP/d2.st"
  inspect --to "$MTMP/d1.safetensors" "$MTMP/d1.st"
  inspect --to "$MTMP/d2.safetensors" "$MTMP/d2.st"
  run env PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$MTMP/d1.safetensors" "$MTMP/d2.safetensors" <<'PY'
import json, struct, sys
import numpy as np
from st_numpy import load
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
worst = max(np.linalg.norm(a[k] - b[k]) / max(np.linalg.norm(b[k]), 1e-30) for k in a if np.linalg.norm(b[k]) > 1e-6)
print("worst relative difference", worst)
assert worst < 1e-4
PY
  assert_success
  # with dropout on, the two seeds differ
  gradacc --model "$MTMP/tiny-head" --steps 1 --batch "$n" --seed 1 -q "$MTMP/train.ex" -o "$MTMP/e1.st"
  gradacc --model "$MTMP/tiny-head" --steps 1 --batch "$n" --seed 2 -q "$MTMP/train.ex" -o "$MTMP/e2.st"
  [ "$(inspect --json "$MTMP/e1.st" | tail -n +2)" != "$(inspect --json "$MTMP/e2.st" | tail -n +2)" ]
}

@test "--reduce sumsq and abs are non-negative" {
  gradacc --model "$MTMP/tiny" --steps 2 --batch 4 --reduce sumsq -q "$MTMP/train.ex" -o "$MTMP/s.st"
  gradacc --model "$MTMP/tiny" --steps 2 --batch 4 --reduce abs -q "$MTMP/train.ex" -o "$MTMP/a.st"
  for f in s a; do
    run /usr/bin/python3 -c "
import json,sys
for l in open(sys.argv[1]).readlines()[1:-1]:
    r=json.loads(l)
    assert r.get('min',0) >= 0, (r['name'], r.get('min'))
print('ok')" <(inspect --json --max-elems 0 "$MTMP/$f.st")
    assert_output "ok"
  done
}

@test "gradacc runs on the tiny model for all seven tasks of ../shared/data" {
  need_shared
  init-model --vocab "$SHARED_DATA/roberta-vocab" --seed 2 -o "$MTMP/tiny-roberta"
  for t in cb cola copa mrpc rte stsb wsc; do
    tokenize --task $t --vocab "$MTMP/tiny-roberta" --max-len 128 "$SHARED_DATA/tasks/$t/val.jsonl" -o "$MTMP/$t.ex"
    gradacc --model "$MTMP/tiny-roberta" --steps 2 --batch 8 --seed 1 -q "$MTMP/$t.ex" -o "$MTMP/$t.g"
    inspect "$MTMP/$t.g" > /dev/null
  done
}

@test "gradacc: bad input gives clear errors and no output" {
  head -c 200 "$MTMP/train.ex" > "$MTMP/cut.ex"
  run gradacc --model "$MTMP/tiny" --steps 1 "$MTMP/cut.ex" -o "$MTMP/x.st"
  assert_failure 1
  assert_output --partial "cut.ex"
  [ ! -e "$MTMP/x.st" ]
  run gradacc --model "$MTMP/nope" --steps 1 "$MTMP/train.ex" -o "$MTMP/x.st"
  assert_failure 1
  [ ! -e "$MTMP/x.st" ]
  run gradacc --model "$MTMP/tiny" "$MTMP/train.ex"
  assert_failure 2
  run gradacc --help
  assert_success
}

@test "-o /dev/null writes through the device (no temporary file renamed onto it)" {
  gradacc --model "$MTMP/tiny" --steps 1 --batch 2 -q "$MTMP/train.ex" -o /dev/null
  [ -c /dev/null ]
  ls /dev/null.tmp.* 2>/dev/null && false || true
  gradacc --model "$MTMP/tiny" --steps 1 --batch 2 -q "$MTMP/train.ex" -o /dev/stdout | inspect - | grep -q 'role: "grads"'
}
