#!/usr/bin/env bats
# stats --params: the paper's Table 4 (tunable parameters, % of the base model) counted from
# masktrain's deltas, checked against counts computed here in Python twice: from the delta
# records (tests/tools/streamread.py) and from the model's tensors and each method's
# definition (PAPER.md "The baselines, exactly"), in every output format.
load helper

PY=/usr/bin/python3

setup_file() {
  export XT=$(mktemp -d)
  cat > "$XT/cb.jsonl" <<'JSON'
{"premise":"the cat sat on the mat","hypothesis":"a cat sat","label":"entailment"}
{"premise":"no dog was here today","hypothesis":"a dog is here","label":"contradiction"}
{"premise":"it may rain later","hypothesis":"it rains now","label":"neutral"}
{"premise":"she is not happy at all","hypothesis":"she is happy","label":"contradiction"}
JSON
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 5 -o "$XT/m"
  tokenize --task cb --vocab "$XT/m" "$XT/cb.jsonl" -o "$XT/cb.ex"
  gradacc --model "$XT/m" --steps 1 --batch 4 -q "$XT/cb.ex" -o "$XT/g.sum"
  sam-select --ratio 0.05 -o "$XT/sam.mask" "$XT/g.sum"
  sam-select --method random --ratio 0.05 --seed 2 --model "$XT/m" -o "$XT/random.mask"
  sam-select --method magnitude --ratio 0.05 --model "$XT/m" -o "$XT/magnitude.mask"
  sam-select --method bitfit --model "$XT/m" -o "$XT/bitfit.mask"
  sam-select --method full --model "$XT/m" -o "$XT/full.mask"
  sam-select --method adapter --model "$XT/m" --bottleneck 6 -o "$XT/adapter.mask"
  sam-select --method lora --model "$XT/m" -o "$XT/lora-qv.mask"
  sam-select --method lora --model "$XT/m" --targets all --rank 3 --alpha 1 --lora-init-b kaiming --freeze-head \
    -o "$XT/lora-all.mask"
  for p in sam random magnitude bitfit full adapter lora-qv lora-all; do
    # two "tasks' seeds" per method: one trained step, one initial state (--max-steps 0)
    masktrain --model "$XT/m" --mask "$XT/$p.mask" --dev "$XT/cb.ex" --batch 4 --max-steps 1 --seed 1 -q "$XT/cb.ex" \
      -o "$XT/$p.s1.delta"
    masktrain --model "$XT/m" --mask "$XT/$p.mask" --dev "$XT/cb.ex" --batch 4 --max-steps 0 --seed 2 -q "$XT/cb.ex" \
      -o "$XT/$p.s2.delta"
  done
}
teardown_file() { rm -rf "$XT"; }

deltas() { ls "$XT"/*.delta; }

@test "stats --params: every method's count equals the delta records' and the method's definition" {
  run stats --params -f json $(deltas)
  assert_success
  echo "$output" > "$XT/t4.json"
  PYTHONPATH="$ROOT/tests/tools" run "$PY" - "$XT" <<'PY'
import glob, json, math, os, sys
import numpy as np
import st_numpy, streamread as sr
xt = sys.argv[1]
cfg = json.load(open(xt + "/m/config.json"))
H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
raw = open(xt + "/m/model.safetensors", "rb").read()
shapes = {k: v["shape"] for k, v in json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")]).items() if k != "__metadata__"}
enc = {k: int(np.prod(s)) for k, s in shapes.items() if not k.startswith("classifier.")}
base = sum(enc.values())                       # the pooler included: --head jiant
C = 3
head = H * H + H + C * H + C                   # dense + out_proj
# each method as PAPER.md defines it, from the model's tensors
want = {
    "full": sum(enc.values()),
    "bitfit": sum(n for k, n in enc.items() if k.endswith(".bias")),
    "random": sum(math.floor(0.05 * n) for n in enc.values()),
    "magnitude": sum(math.floor(0.05 * n) for n in enc.values()),
    "sam": sum(math.floor(0.05 * n) for n in enc.values()),
    "adapter": L * (6 * H + 6 + H * 6 + H),                      # down [6,H] + [6], up [H,6] + [H]
    "lora-qv": L * 2 * 8 * (H + H),                              # r 8: A [8,H], B [H,8]
    "lora-all": L * 3 * (4 * (H + H) + (H + I) + (I + H)),       # r 3, the six Linears
}
doc = json.load(open(xt + "/t4.json"))
by_file = {os.path.basename(d["file"]): d for d in doc["deltas"]}
assert len(by_file) == 16, sorted(by_file)
for f, d in sorted(by_file.items()):
    p = f.split(".")[0]
    # 1. from the records: sparse positions and dense entries, head apart
    h, recs = sr.read(os.path.join(xt, f))
    cnt = {"encoder": 0, "extra": 0, "head": 0}
    for r in recs:
        n = len(r["index"]) // 4 if "index" in r else int(np.prod(r["shape"]))
        kind = "head" if r["name"].startswith("classifier.") else \
            "extra" if (".lora_" in r["name"] or ".adapters." in r["name"]) else "encoder"
        cnt[kind] += n
    for k, v in cnt.items():
        assert d[k] == v, (f, k, d[k], v)
    assert d["base_entries"] == base == h["base_entries"], (f, d["base_entries"], base)
    # 2. from the definition
    got = d["encoder"] + d["extra"]
    assert got == want[p], (f, got, want[p])
    assert d["head"] == (0 if p == "lora-all" else head), (f, d["head"])
    assert abs(d["percent"] - 100.0 * got / base) < 1e-9, (f, d["percent"])
rows = {r["label"]: r for r in doc["rows"]}
order = [r["label"] for r in doc["rows"]]
assert order == ["full", "random", "bitfit", "magnitude", "adapter", "lora[r=3 all]", "lora[r=8 query,value]", "sam"], order
for label, p in [("full", "full"), ("random", "random"), ("bitfit", "bitfit"), ("adapter", "adapter"),
                 ("lora[r=8 query,value]", "lora-qv"), ("lora[r=3 all]", "lora-all"), ("sam", "sam")]:
    r = rows[label]
    assert r["deltas"] == 2 and abs(r["percent"] - 100.0 * want[p] / base) < 1e-9, (label, r)
for label in ("full", "bitfit", "adapter", "lora[r=3 all]", "sam"):
    print("%s %.4f" % (label, rows[label]["percent"]), end="; ")
print("base %d" % base)
PY
  echo "# $output" >&3
  assert_success
}

@test "stats --params: text, markdown, tsv and latex print the same numbers; --include-head adds the head" {
  run stats --params "$XT/full.s1.delta" "$XT/adapter.s1.delta" "$XT/adapter.s2.delta" "$XT/lora-all.s1.delta"
  assert_success
  assert_line --index 0 "Tunable parameters, % of the base model (Table 4)"
  assert_output --regexp "adapter +2 +0 +844 +1155 +49312 +1\.71"
  assert_output --regexp "full +1 +49312 +0 +1155 +49312 +100\.00"
  run stats --params -f markdown --digits 3 "$XT/adapter.s1.delta"
  assert_output --partial "| adapter | 1 | 0 | 844 | 1155 | 49312 | 1.712 |"
  run stats --params -f tsv "$XT/adapter.s1.delta" "$XT/lora-all.s2.delta"
  assert_line --index 1 "label	method	deltas	encoder	extra	head	base	percent"
  assert_line --index 2 "adapter	adapter	1	0	844	1155	49312	1.71155094095"
  assert_output --partial "lora-all.s2.delta	lora	cb	2	0	2688	0	49312	5.45100584036"
  run stats --params -f latex "$XT/adapter.s1.delta"
  assert_output --partial "adapter & 1 & 0 & 844 & 1155 & 49312 & 1.71 \\\\"
  run stats --params --include-head -f json "$XT/adapter.s1.delta"
  assert_output --partial '"percent": 4.053780012978585'
  assert_output --partial '"include_head": true'
}

@test "stats --params: several ratios of a method are rows METHOD@RATIO; bad input and usage errors" {
  sam-select --method random --ratio 0.1 --seed 2 --model "$XT/m" -o "$XT/r10.mask"
  masktrain --model "$XT/m" --mask "$XT/r10.mask" --dev "$XT/cb.ex" --batch 4 --max-steps 0 -q "$XT/cb.ex" -o "$XT/r10.d"
  run stats --params "$XT/random.s1.delta" "$XT/r10.d"
  assert_success
  assert_output --partial "random@0.05 "
  assert_output --partial "random@0.1 "
  run stats --params "$XT/sam.mask"
  assert_failure 1
  assert_output --partial "stats: $XT/sam.mask"
  # a delta without base_entries (an older masktrain)
  PYTHONPATH="$ROOT/tests/tools" "$PY" - "$XT/old.delta" <<'PY'
import sys, mkstream as m
m.write(sys.argv[1], "delta", [], meta={"method": "sam"})
PY
  run stats --params "$XT/old.delta"
  assert_failure 1
  assert_output --partial "base_entries"
  run stats --params --masks "$XT/sam.mask"
  assert_failure 2
  run stats --include-head "$XT/sam.mask"
  assert_failure 2
  assert_output --partial "--masks and --params"
}
