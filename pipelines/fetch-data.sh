#!/usr/bin/env bash
# fetch-data.sh — download the benchmark archives for your own experiments; sparsetune reads
# them in place through libarchive (ARCHIVE:MEMBER), nothing is unpacked.  Needs network access.
#
#   pipelines/fetch-data.sh [DIR]        default: data/
#
# SuperGLUE's CB, COPA, RTE and WSC ship JSON lines with the field names the paper's tasks use:
#   tokenize --task cb --vocab roberta-base data/CB.zip:CB/train.jsonl > cb.train.ex
# (hold out the paper's 10 % dev split with --holdout 0.1 --part train|dev; the official val
# split is the paper's test set).  GLUE's CoLA, MRPC and STS-B are TSV; read them in generic
# mode, e.g.
#   tokenize --text-fields "#1 String,#2 String" --label-field Quality --labels 0,1 \
#            --vocab roberta-base data/MRPC.zip:MRPC/dev.tsv
# The paper's exact splits are in its public repository (see PAPER.md, "Data").
# Override the locations with SUPERGLUE_URL / GLUE_URL if they move.
set -euo pipefail
dir=${1:-data}
superglue=${SUPERGLUE_URL:-https://dl.fbaipublicfiles.com/glue/superglue/data/v2}
glue=${GLUE_URL:-https://dl.fbaipublicfiles.com/glue/data}
mkdir -p "$dir"
get() { echo "fetch-data: $1" >&2; curl -fL --retry 3 -o "$dir/$2.part" "$1"; mv "$dir/$2.part" "$dir/$2"; }
for t in CB COPA RTE WSC; do get "$superglue/$t.zip" "$t.zip"; done
for t in CoLA STS-B; do get "$glue/$t.zip" "$t.zip"; done
echo "fetch-data: done; MRPC's GLUE archive needs Microsoft's MSR paraphrase corpus (see GLUE's instructions)" >&2
