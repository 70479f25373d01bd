#!/usr/bin/env bats
# masktrain(1): sparse training end to end, only masked entries change, resume, signals, errors.
load helper

setup_file() {
  export TT=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$TT/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$TT/data" 96 0
  for s in train val; do
    tokenize --vocab "$TT/tiny" --text-fields text --label-field label "$TT/data/$s.jsonl" -o "$TT/$s.ex"
  done
  gradacc --model "$TT/tiny" --steps 4 --batch 8 --seed 1 -q "$TT/train.ex" -o "$TT/g.sum"
  sam-select --ratio 0.05 "$TT/g.sum" -o "$TT/sam.mask"
}
teardown_file() { rm -rf "$TT"; }

@test "masktrain writes a delta; only masked entries and the head differ from the base model" {
  masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --seed 1 --max-steps 30 \
    --eval-every 10 --lr 1e-3 -q --log "$TT/log.jsonl" "$TT/train.ex" -o "$TT/d.delta"
  run inspect "$TT/d.delta"
  assert_output --partial "kind delta"
  assert_output --partial '"best_step"'
  grep -q '"dev_metric"' "$TT/log.jsonl"
  grep -q '"grad_norm"' "$TT/log.jsonl"
  evaluate --model "$TT/tiny" --delta "$TT/d.delta" --export "$TT/ft" "$TT/val.ex" -o "$TT/m.st"
  inspect --json "$TT/sam.mask" > "$TT/mask.json"
  run env PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$TT/tiny/model.safetensors" "$TT/ft/model.safetensors" "$TT/mask.json" <<'PY'
import json, struct, sys
import numpy as np
from st_numpy import load
base, ft = load(sys.argv[1]), load(sys.argv[2])
mask = {r["name"]: r for r in map(json.loads, open(sys.argv[3]).readlines()[1:-1])}
changed_total = 0
for name, b in base.items():
    changed = set(np.nonzero(ft[name] != b)[0].tolist())
    allowed = set(mask[name].get("index", [])) if name in mask and not mask[name].get("all") else set()
    if name in mask and mask[name].get("all"):
        continue
    assert changed <= allowed, (name, sorted(changed - allowed)[:5])
    changed_total += len(changed)
heads = [k for k in ft if k.startswith("classifier.")]
assert heads, "no head exported"
assert changed_total > 0, "nothing trained"
print("ok", changed_total)
PY
  assert_success
  assert_output --partial "ok"
}

@test "killed with SIGKILL and resumed: the delta is byte-identical to an uninterrupted run" {
  export SOURCE_DATE_EPOCH=1700000000
  args=(--model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --seed 2 --max-steps 200
        --eval-every 50 --checkpoint "$TT/ck" --checkpoint-every 10 --resume -q "$TT/train.ex" -o "$TT/r.delta")
  masktrain "${args[@]}"
  mv "$TT/r.delta" "$TT/straight.delta"
  rm -f "$TT/ck"
  masktrain "${args[@]}" &
  pid=$!
  for i in $(seq 1 400); do [ -e "$TT/ck" ] && break; sleep 0.05; done
  sleep 0.3
  kill -9 "$pid" || true
  wait "$pid" || true
  [ -e "$TT/ck" ]
  [ ! -e "$TT/r.delta" ]
  masktrain "${args[@]}"
  cmp "$TT/straight.delta" "$TT/r.delta"
}

@test "SIGTERM saves a checkpoint first, exits 143, and --resume finishes the run" {
  rm -f "$TT/ck2"
  masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --seed 3 --max-steps 100000 \
    --eval-every 100000 --checkpoint "$TT/ck2" -q "$TT/train.ex" -o "$TT/t.delta" &
  pid=$!
  sleep 1.5
  kill -TERM "$pid"
  st=0
  wait "$pid" || st=$?
  [ "$st" -eq 143 ]
  [ -e "$TT/ck2" ]
  [ ! -e "$TT/t.delta" ]
  step=$(inspect --json "$TT/ck2" | head -n 1 | grep -o '"step":[0-9]*' | cut -d: -f2)
  [ "$step" -gt 0 ]
  masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --seed 3 \
    --max-steps $((step + 5)) --eval-every 100000 --checkpoint "$TT/ck2" --resume -q "$TT/train.ex" -o "$TT/t.delta"
  run sh -c "inspect --json '$TT/t.delta' | head -n 1"
  assert_output --partial "\"steps\":$((step + 5))"
}

@test "--decay-frozen decays every weight matrix (dense records), as the reference code" {
  masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --seed 1 --max-steps 5 \
    --eval-every 5 --decay-frozen -q "$TT/train.ex" -o "$TT/df.delta"
  run inspect "$TT/df.delta"
  assert_output --regexp "roberta.encoder.layer.0.attention.self.query.weight +f32"
}

@test "bad input: a mask for another model, a truncated mask, a NaN loss" {
  init-model --vocab "$FIXTURES/tiny-vocab" --hidden 16 --heads 2 -o "$TT/small"
  sam-select --method random --model "$TT/small" -o "$TT/small.mask"
  run masktrain --model "$TT/tiny" --mask "$TT/small.mask" --dev "$TT/val.ex" --max-steps 2 "$TT/train.ex" -o "$TT/x.delta"
  assert_failure 1
  assert_output --partial "shape differs"
  [ ! -e "$TT/x.delta" ]
  head -c 500 "$TT/sam.mask" > "$TT/cut.mask"
  run masktrain --model "$TT/tiny" --mask "$TT/cut.mask" --dev "$TT/val.ex" --max-steps 2 "$TT/train.ex" -o "$TT/x.delta"
  assert_failure 1
  assert_output --partial "cut.mask"
  cp -r "$TT/tiny" "$TT/nan"
  /usr/bin/python3 - "$TT/nan/model.safetensors" <<'PY'
import json, struct, sys
import numpy as np
p = sys.argv[1]; raw = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); a, b = h["roberta.embeddings.LayerNorm.weight"]["data_offsets"]
raw[8 + n + a:8 + n + b] = np.full((b - a) // 4, np.nan, "<f4").tobytes()
open(p, "wb").write(raw)
PY
  run masktrain --model "$TT/nan" --mask "$TT/sam.mask" --dev "$TT/val.ex" --max-steps 2 "$TT/train.ex" -o "$TT/x.delta"
  assert_failure 1
  assert_output --partial "loss is nan"
  [ ! -e "$TT/x.delta" ]
  run masktrain --model "$TT/tiny" --dev "$TT/val.ex" "$TT/train.ex"
  assert_failure 2
}

@test "a run over an existing checkpoint without --resume warns that it starts afresh" {
  masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --max-steps 2 --eval-every 100 \
    --checkpoint "$TT/ck3" --checkpoint-every 1 -q "$TT/train.ex" -o "$TT/w1.delta"
  [ -s "$TT/ck3" ]
  run masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --max-steps 2 --eval-every 100 \
    --checkpoint "$TT/ck3" "$TT/train.ex" -o "$TT/w2.delta"
  assert_success
  assert_output --partial "$TT/ck3: exists: this run starts afresh and will overwrite it (--resume continues it)"
  run masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --max-steps 2 --eval-every 100 \
    --checkpoint "$TT/ck3" --resume "$TT/train.ex" -o "$TT/w3.delta"
  refute_output --partial "starts afresh"
}
