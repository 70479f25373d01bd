#!/usr/bin/env bats
# LoRA and Adapter, the structural baselines (lib/methods/): plans from sam-select, training
# of the extra tensors only, deltas with PEFT's / AdapterHub's names, evaluate's merge; two
# AdamW steps against the independent float64 PyTorch reference (tests/ref/check_structural.py)
# on the CPU and on the CUDA backend (the emulator in make test); the exports (merged HF
# directory, PEFT adapter, AdapterHub adapter) against PAPER.md's layouts
# (tests/ref/check_layouts.py) and re-applied with plain torch to evaluate's logits
# (tests/ref/apply_exports.py, tests/tools/check_export.py).
load helper

PY=/usr/bin/python3

setup_file() {
  export XT=$(mktemp -d)
  cat > "$XT/cb.jsonl" <<'EOF'
{"premise":"the cat sat on the mat","hypothesis":"a cat sat","label":"entailment"}
{"premise":"no dog was here today","hypothesis":"a dog is here","label":"contradiction"}
{"premise":"it may rain later","hypothesis":"it rains now","label":"neutral"}
{"premise":"she is not happy at all","hypothesis":"she is happy","label":"contradiction"}
EOF
  init-model --vocab "$FIXTURES/tiny-vocab" --task-head classification --num-labels 3 --seed 5 -o "$XT/i"
  # the reference's scales: gradients fp32 resolves to 1e-4 (check_grads.py scramble)
  "$PY" "$ROOT/tests/ref/check_grads.py" scramble "$XT/i" "$XT/m" 5
  tokenize --task cb --vocab "$XT/m" "$XT/cb.jsonl" -o "$XT/cb.ex"
  inspect --json "$XT/cb.ex" > "$XT/cb.jsonl.ex"
}
teardown_file() { rm -rf "$XT"; }

need_torch() { "$PY" -c "import torch" 2>/dev/null || skip "python3-torch not installed"; }

# masktrain of PLAN for 0 steps (--max-steps 0: the initial state) and for 2 steps keeping the
# last state (--keep last; all examples in one batch, no dropout, constant schedule, no decay),
# then the reference from that initial state.  Extra masktrain options follow the plan.
parity() {
  local plan=$1 tag=$2; shift 2
  local t="--model $XT/m --mask $XT/$plan --dev $XT/cb.ex --batch 4 --dropout 0 --weight-decay 0"
  t="$t --schedule constant --lr 1e-3 -q $XT/cb.ex $*"
  masktrain $t --max-steps 0 -o "$XT/$tag.init"
  masktrain $t --max-steps 2 --keep last -o "$XT/$tag.final"
  inspect --to "$XT/$tag.init.safetensors" "$XT/$tag.init"
  inspect --to "$XT/$tag.final.safetensors" "$XT/$tag.final"
  inspect --json "$XT/$tag.final" | head -n 1 > "$XT/$tag.json"
  inspect --json "$XT/$tag.init" | head -n 1 | grep -q '"steps":0,'
  grep -q '"steps":2,.*"keep":"last"' "$XT/$tag.json"
  run "$PY" "$ROOT/tests/ref/check_structural.py" "$XT/m" "$XT/cb.jsonl.ex" "$XT/$tag.init.safetensors" \
    "$XT/$tag.final.safetensors" "$XT/$tag.json"
  echo "# $tag: $output" >&3
  assert_success
}

need_cuda() {
  gradacc --model "$XT/m" --steps 1 --batch 2 --device cuda -q "$XT/cb.ex" -o "$XT/probe.st" \
    2>"$XT/probe.err" || skip "no CUDA backend: $(tail -1 "$XT/probe.err")"
}

@test "sam-select --method lora: PEFT's names and shapes, the structure in the header, the encoder left out" {
  sam-select --method lora --model "$XT/m" -o "$XT/qv.mask"
  run inspect "$XT/qv.mask"
  assert_output --partial "roberta.encoder.layer.0.attention.self.query.lora_A.weight  [8, 32]  all"
  assert_output --partial "roberta.encoder.layer.1.attention.self.value.lora_B.weight  [32, 8]  all"
  assert_output --partial "classifier.out_proj.weight"
  refute_output --partial "key.lora"
  refute_output --partial "query.weight  ["
  inspect --json "$XT/qv.mask" | head -n 1 | grep -q '"structure":{"lora":{"r":8,"alpha":16.0,"scaling":2.0,"targets":\["query","value"\]'
  # all six Linears, r 4: 2 layers x (4 x (4x32 + 32x4) + (4x32 + 64x4) + (4x64 + 32x4))
  sam-select --method lora --model "$XT/m" --targets all --rank 4 --alpha 1 --lora-init-b kaiming --freeze-head -o "$XT/all.mask"
  run inspect --json "$XT/all.mask"
  assert_line --index 0 --partial '"selected_entries":3584'
  assert_line --index 0 --partial '"freeze_head":true'
  assert_line --index 0 --partial '"init_b":"kaiming_uniform"'
  refute_output --partial classifier
}

@test "sam-select --method adapter: AdapterHub's names, bottleneck from the reduction factor" {
  sam-select --method adapter --model "$XT/m" --reduction-factor 4 -o "$XT/ad.mask"
  run inspect "$XT/ad.mask"
  assert_output --partial "roberta.encoder.layer.0.output.adapters.adapter.adapter_down.0.weight  [8, 32]  all"
  assert_output --partial "roberta.encoder.layer.1.output.adapters.adapter.adapter_up.bias  [32]  all"
  inspect --json "$XT/ad.mask" | head -n 1 | grep -q '"adapter":{"config":"pfeiffer","name":"adapter","bottleneck":8,"reduction_factor":4.0,"non_linearity":"relu","init":"bert"}'
}

@test "sam-select: structural options are checked (usage errors, exit 2)" {
  run sam-select --method lora --model "$XT/m" --targets query,nope
  assert_failure 2
  assert_output --partial "unknown LoRA target 'nope'"
  run sam-select --method lora
  assert_failure 2
  assert_output --partial "needs --model"
  run sam-select --method sam --rank 4 -
  assert_failure 2
  assert_output --partial "options of --method lora"
  run sam-select --method lora --model "$XT/m" --bottleneck 4
  assert_failure 2
}

@test "masktrain on a LoRA plan: only A, B and the head change; evaluate merges them" {
  sam-select --method lora --model "$XT/m" --targets all --rank 4 -o "$XT/l.mask"
  masktrain --model "$XT/m" --mask "$XT/l.mask" --dev "$XT/cb.ex" --max-steps 3 --eval-every 3 --batch 4 \
    -q "$XT/cb.ex" -o "$XT/l.delta"
  run inspect "$XT/l.delta"
  assert_output --partial "output.dense.lora_B.weight  f32 [32, 4]"
  assert_output --partial "classifier.dense.weight"
  run sh -c "inspect --json '$XT/l.delta' | sed 1d | grep -o '\"name\":\"[^\"]*' | grep -Ev 'lora_[AB]\.weight|\"classifier\.'"
  assert_output ""
  inspect --json "$XT/l.delta" | head -n 1 | grep -q '"base_entries":49312'
  run evaluate --model "$XT/m" --delta "$XT/l.delta" "$XT/cb.ex"
  assert_success
  # --freeze-head: the head stays as initialised, the delta has no head
  sam-select --method lora --model "$XT/m" --freeze-head -o "$XT/lf.mask"
  masktrain --model "$XT/m" --mask "$XT/lf.mask" --dev "$XT/cb.ex" --max-steps 2 --batch 4 -q "$XT/cb.ex" -o "$XT/lf.delta"
  run inspect "$XT/lf.delta"
  refute_output --partial classifier
}

@test "LoRA (targets all, r 4, B kaiming as the paper's code): two AdamW steps equal the float64 reference (CPU)" {
  need_torch
  sam-select --method lora --model "$XT/m" --targets all --rank 4 --lora-init-b kaiming -o "$XT/pk.mask"
  parity pk.mask lora-kaiming
  sam-select --method lora --model "$XT/m" --targets all --rank 4 -o "$XT/pz.mask"
  parity pz.mask lora-zeros
}

@test "Adapter (Pfeiffer, init bert): two AdamW steps equal the float64 reference (CPU)" {
  need_torch
  sam-select --method adapter --model "$XT/m" --bottleneck 6 -o "$XT/pa.mask"
  parity pa.mask adapter
}

@test "LoRA and Adapter on the CUDA backend equal the float64 reference" {
  need_torch
  need_cuda
  sam-select --method lora --model "$XT/m" --targets all --rank 4 --lora-init-b kaiming -o "$XT/ck.mask"
  parity ck.mask cuda-lora --device cuda
  sam-select --method adapter --model "$XT/m" --bottleneck 6 -o "$XT/ca.mask"
  parity ca.mask cuda-adapter --device cuda
}

@test "a malformed structure in a plan is an error, not a crash" {
  PYTHONPATH="$ROOT/tests/tools" "$PY" - "$XT/bad.mask" <<'PY'
import sys
import mkstream as m
m.write(sys.argv[1], "mask", [m.mask("classifier.dense.bias", [32])],
        meta={"method": "lora", "head": "jiant", "structure": {"lora": {"r": 0, "alpha": 1.0, "targets": ["query"], "init_b": "zeros"}}})
PY
  run masktrain --model "$XT/m" --mask "$XT/bad.mask" --dev "$XT/cb.ex" --max-steps 1 -q "$XT/cb.ex" -o "$XT/bad.delta"
  assert_failure 1
  assert_output --partial "integer r >= 1"
  [ ! -e "$XT/bad.delta" ]
}

# apply_exports.py KIND BASE EXPORT PREDICTIONS: the export re-read with plain torch gives
# evaluate's logits
reapply() {
  run "$PY" "$ROOT/tests/ref/apply_exports.py" "$1" "$2" "$3" "$XT/cb.jsonl.ex" "$4"
  echo "# $output" >&3
  assert_success
}

# check_export.py --impl hf|shipped DIR PREDICTIONS: the merged directory loaded as its
# config.json says (HF's class through hf_roberta.py; the modeling_sparsetune.py it ships)
reload() {
  run "$PY" "$ROOT/tests/tools/check_export.py" --impl "$1" "$2" "$XT/cb.ex" "$3"
  echo "# merged, $1: $output" >&3
  assert_success
}

# check_layouts.py KIND EXPORT BASE DELTA: the files against PAPER.md's documented layouts
layout() {
  run "$PY" "$ROOT/tests/ref/check_layouts.py" "$@"
  echo "# $output" >&3
  assert_success
}

@test "LoRA exports, --head hf: the merged HF directory and the PEFT adapter reproduce evaluate's logits (1e-5)" {
  need_torch
  init-model --vocab "$FIXTURES/tiny-vocab" --head hf --task-head classification --num-labels 3 --seed 6 -o "$XT/hi"
  "$PY" "$ROOT/tests/ref/check_grads.py" scramble "$XT/hi" "$XT/hm" 6
  sam-select --method lora --model "$XT/hm" --head hf --targets all --rank 4 --lora-init-b kaiming -o "$XT/h.mask"
  masktrain --model "$XT/hm" --head hf --mask "$XT/h.mask" --dev "$XT/cb.ex" --max-steps 3 --eval-every 3 --batch 4 \
    --lr 1e-2 -q "$XT/cb.ex" -o "$XT/h.delta"
  evaluate --model "$XT/hm" --delta "$XT/h.delta" --predictions "$XT/h.pred" --export "$XT/h.merged" \
    --export-peft "$XT/h.peft" "$XT/cb.ex" -o "$XT/h.metrics"
  # evaluate's logits (LoRA merged in memory) = the merged export, read three ways ...
  reapply merged "$XT/hm" "$XT/h.merged" "$XT/h.pred"
  reload hf "$XT/h.merged" "$XT/h.pred"
  reload shipped "$XT/h.merged" "$XT/h.pred"
  # ... = the PEFT adapter applied unmerged to the base model
  reapply peft "$XT/hm" "$XT/h.peft" "$XT/h.pred"
  # HF's class, no lora_* tensor, W = W0 + (alpha/r) B A; PEFT's documented files
  layout merged "$XT/h.merged" "$XT/hm" "$XT/h.delta"
  layout peft "$XT/h.peft" "$XT/hm" "$XT/h.delta"
  grep -q '"peft_type": "LORA"' "$XT/h.peft/adapter_config.json"
  grep -q '"base_model_name_or_path": "hm"' "$XT/h.peft/adapter_config.json"
  # the merged directory is a plain model: evaluate reads it back to the same metric
  evaluate --model "$XT/h.merged" --head hf "$XT/cb.ex" -o "$XT/h2.metrics"
  [ "$(inspect --json "$XT/h.metrics" | sed -n 2p | grep -o '"loss":[^,]*')" = \
    "$(inspect --json "$XT/h2.metrics" | sed -n 2p | grep -o '"loss":[^,]*')" ]
}

@test "PEFT export of query,value with a frozen head: PEFT's plain target list, the head saved, logits (1e-5)" {
  need_torch
  [ -d "$XT/hm" ] || skip "needs the previous test's model"
  sam-select --method lora --model "$XT/hm" --head hf --freeze-head -o "$XT/hq.mask"
  masktrain --model "$XT/hm" --head hf --mask "$XT/hq.mask" --dev "$XT/cb.ex" --max-steps 2 --batch 4 --lr 1e-2 \
    -q "$XT/cb.ex" -o "$XT/hq.delta"
  evaluate --model "$XT/hm" --delta "$XT/hq.delta" --predictions "$XT/hq.pred" --export-peft "$XT/hq.peft" \
    --export "$XT/hq.merged" "$XT/cb.ex" -o /dev/null
  tr -d ' \n' < "$XT/hq.peft/adapter_config.json" | grep -q '"target_modules":\["query","value"\]'
  layout peft "$XT/hq.peft" "$XT/hm" "$XT/hq.delta"
  reapply peft "$XT/hm" "$XT/hq.peft" "$XT/hq.pred"
  layout merged "$XT/hq.merged" "$XT/hm" "$XT/hq.delta"
  reload hf "$XT/hq.merged" "$XT/hq.pred"
}

@test "LoRA, --head jiant: the merged export is our own class (no lora_* tensor) and reproduces evaluate's logits (1e-5)" {
  need_torch
  sam-select --method lora --model "$XT/m" --targets all --rank 4 --lora-init-b kaiming -o "$XT/jm.mask"
  masktrain --model "$XT/m" --mask "$XT/jm.mask" --dev "$XT/cb.ex" --max-steps 3 --eval-every 3 --batch 4 --lr 1e-2 \
    -q "$XT/cb.ex" -o "$XT/jm.delta"
  evaluate --model "$XT/m" --delta "$XT/jm.delta" --predictions "$XT/jm.pred" --export "$XT/jm.merged" "$XT/cb.ex" -o /dev/null
  layout merged "$XT/jm.merged" "$XT/m" "$XT/jm.delta"
  reload shipped "$XT/jm.merged" "$XT/jm.pred"
  # not HF's class: hf_roberta.py refuses it rather than dropping the pooler
  run "$PY" "$ROOT/tests/tools/check_export.py" --impl hf "$XT/jm.merged" "$XT/cb.ex" "$XT/jm.pred"
  assert_failure
  assert_output --partial "is not one of HF's classes"
}

@test "the layout checks catch what PEFT and AdapterHub would misread" {
  [ -d "$XT/h.peft" ] || skip "needs the LoRA export test's files"
  cp -r "$XT/h.peft" "$XT/t.peft"
  # "dense" as a target would put LoRA on classifier.dense too
  sed -i 's/"target_modules": "[^"]*"/"target_modules": ["query", "key", "value", "dense"]/' "$XT/t.peft/adapter_config.json"
  run "$PY" "$ROOT/tests/ref/check_layouts.py" peft "$XT/t.peft" "$XT/hm" "$XT/h.delta"
  assert_failure
  assert_output --partial "classifier.dense"
  # a merged export checked against another delta: its weights are not W0 + (alpha/r) B A
  run "$PY" "$ROOT/tests/ref/check_layouts.py" merged "$XT/h.merged" "$XT/hm" "$XT/hq.delta"
  assert_failure
}

@test "--export-peft of a jiant-head run is refused with the reason; --export of an adapter run too" {
  sam-select --method lora --model "$XT/m" -o "$XT/j.mask"
  masktrain --model "$XT/m" --mask "$XT/j.mask" --dev "$XT/cb.ex" --max-steps 1 --batch 4 -q "$XT/cb.ex" -o "$XT/j.delta"
  run evaluate --model "$XT/m" --delta "$XT/j.delta" --export-peft "$XT/j.peft" "$XT/cb.ex" -o "$XT/j.metrics"
  assert_failure 1
  assert_output --partial "has no pooler"
  [ ! -e "$XT/j.peft" ] && [ ! -e "$XT/j.metrics" ]
  sam-select --method adapter --model "$XT/m" -o "$XT/a.mask"
  masktrain --model "$XT/m" --mask "$XT/a.mask" --dev "$XT/cb.ex" --max-steps 1 --batch 4 -q "$XT/cb.ex" -o "$XT/a.delta"
  run evaluate --model "$XT/m" --delta "$XT/a.delta" --export "$XT/a.hf" "$XT/cb.ex"
  assert_failure 1
  assert_output --partial "--export-adapter"
  run evaluate --model "$XT/m" --delta "$XT/j.delta" --export-adapter "$XT/x.hub" "$XT/cb.ex"
  assert_failure 1
  assert_output --partial "needs a delta of sam-select --method adapter"
}

@test "Adapter export: AdapterHub's layout re-read with plain torch reproduces evaluate's logits (1e-5)" {
  need_torch
  sam-select --method adapter --model "$XT/m" --bottleneck 6 -o "$XT/e.mask"
  masktrain --model "$XT/m" --mask "$XT/e.mask" --dev "$XT/cb.ex" --max-steps 3 --eval-every 3 --batch 4 --lr 1e-2 \
    -q "$XT/cb.ex" -o "$XT/e.delta"
  evaluate --model "$XT/m" --delta "$XT/e.delta" --predictions "$XT/e.pred" --export-adapter "$XT/e.hub" "$XT/cb.ex" -o /dev/null
  for f in adapter_config.json adapter.safetensors head_config.json model_head.safetensors; do [ -f "$XT/e.hub/$f" ]; done
  layout adapterhub "$XT/e.hub" "$XT/m" "$XT/e.delta"
  reapply adapterhub "$XT/m" "$XT/e.hub" "$XT/e.pred"
}
