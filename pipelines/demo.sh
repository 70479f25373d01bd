#!/usr/bin/env bash
# demo.sh — the embedded default: run the pipeline on a tiny model and a small task that the
# project makes itself (no download), everything under one output folder.
#
#   pipelines/demo.sh [OUTDIR]            (make demo)
#   DATA=DIR VOCAB=DIR pipelines/demo.sh   use another task folder ({train,val,test}.jsonl
#                                          with text/label fields) and tokenizer
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-demo-out}
bin=${SPARSETUNE_BIN:-$root/bin}
export PATH="$bin:$PATH"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

vocab=${VOCAB:-$out/vocab}
if [ -z "${VOCAB:-}" ]; then
  step "tiny BPE vocabulary (learned on a built-in English paragraph)"
  python3 "$root/tests/fixtures/make-tiny-vocab.py" "$vocab" 300
fi

data=${DATA:-$out/data}
if [ -z "${DATA:-}" ]; then
  step "synthetic sentiment task (pipelines/make-demo-data.py)"
  python3 "$root/pipelines/make-demo-data.py" "$data" 400 0
fi
task_args=(--text-fields text --label-field label)

step "tokenize the splits"
for split in train val test; do
  tokenize --vocab "$vocab" "${task_args[@]}" "$data/$split.jsonl" -o "$out/$split.ex"
done
inspect "$out/train.ex" > "$out/train.inspect.txt"
sed -n '1,/^records:/p;/^records:/,+3p' "$out/train.inspect.txt" | uniq

step "done: $out"
ls -l "$out"
