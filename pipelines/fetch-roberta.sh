#!/usr/bin/env bash
# fetch-roberta.sh — download roberta-base (or another RoBERTa-class model) from the
# HuggingFace hub into a model directory sparsetune reads: config.json, model.safetensors,
# vocab.json, merges.txt.  Needs network access (not available on the offline build machines).
#
#   pipelines/fetch-roberta.sh [REPO [DIR]]      default: roberta-base roberta-base/
#   HF_ENDPOINT=https://mirror.example pipelines/fetch-roberta.sh     (a hub mirror)
set -euo pipefail
repo=${1:-roberta-base}
dir=${2:-$(basename "$repo")}
endpoint=${HF_ENDPOINT:-https://huggingface.co}
mkdir -p "$dir"
for f in config.json model.safetensors vocab.json merges.txt; do
  echo "fetch-roberta: $repo/$f" >&2
  curl -fL --retry 3 -o "$dir/$f.part" "$endpoint/$repo/resolve/main/$f"
  mv "$dir/$f.part" "$dir/$f"
done
echo "fetch-roberta: $dir is ready: tokenize --vocab $dir ..., gradacc --model $dir ..." >&2
