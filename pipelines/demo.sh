#!/usr/bin/env bash
# demo.sh — the embedded default: the whole pipeline (tokenize → gradacc → sam-select →
# masktrain → evaluate → stats) for SAM and two baselines with three seeds, through GNU
# parallel, on a tiny model and a small task that the project makes itself (no download).
# Everything goes under one output folder; it ends with a stats table and a plot.
#
#   pipelines/demo.sh [OUTDIR]                                  (make demo [OUT=dir])
#   MODEL=dir DATA=dir TASKS="cb stsb" pipelines/demo.sh OUTDIR  (make demo MODEL=… DATA=…)
#     MODEL: a HuggingFace model directory (e.g. roberta-base); DATA: a folder of tasks,
#     DATA/TASK/{train,val,test}.jsonl (e.g. ../shared/data/tasks).
# Knobs (environment): METHODS, SEEDS, RATIOS, STEPS (burn-in), MT_OPTS (masktrain), JOBS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-demo-out}" && cd "${1:-demo-out}" && pwd)
bin=${SPARSETUNE_BIN:-$root/bin}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
export PATH="$bin:$PATH"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
t0=$(date +%s)
step() { printf '\n== %s\n' "$*"; }

vars=()
if [ -z "${MODEL:-}" ]; then
  step "tiny BPE vocabulary and a random tiny RoBERTa (init-model)"
  [ -d "$out/vocab" ] || python3 "$root/tests/fixtures/make-tiny-vocab.py" "$out/vocab" 300
  [ -d "$out/random-model" ] || init-model --vocab "$out/vocab" --layers 2 --hidden 64 --heads 4 \
                                           --intermediate 128 --seed 1 -o "$out/random-model"
  if [ ! -d "$out/model" ]; then
    # SAM fine-tunes a *pre-trained* model: give the tiny one a pre-training of its own, full
    # fine-tuning on the plain sentiment task (no negation).  The demo task then has to learn
    # negation on top of it.
    step "pre-train the tiny model: full fine-tuning on sentiment without negation"
    pre=$out/pretrain
    python3 "$root/pipelines/make-demo-data.py" "$pre/data" 800 7 0
    for s in train val; do
      tokenize --vocab "$out/vocab" --text-fields text --label-field label --name pretrain \
        "$pre/data/$s.jsonl" -o "$pre/$s.ex"
    done
    sam-select --method full --model "$out/random-model" -o "$pre/full.mask"
    masktrain --model "$out/random-model" --mask "$pre/full.mask" --dev "$pre/val.ex" --seed 1 \
      --max-steps 300 --eval-every 50 --lr 1e-3 -q "$pre/train.ex" -o "$pre/full.delta"
    evaluate --model "$out/random-model" --delta "$pre/full.delta" --export "$out/model" \
      "$pre/val.ex" -o "$pre/val.metrics"
    inspect --json "$pre/val.metrics" | sed -n 2p
  fi
  MODEL=$out/model
fi
if [ -z "${DATA:-}" ]; then
  step "the demo task: sentiment where half the sentences are negated (make-demo-data.py)"
  [ -d "$out/data/demo" ] || python3 "$root/pipelines/make-demo-data.py" "$out/data/demo" 400 0 0.5
  DATA=$out/data
  TASKS=${TASKS:-demo}
  vars+=(TOKENIZE_ARGS_demo="--text-fields text --label-field label --name demo")
fi
TASKS=${TASKS:-cb stsb}
METHODS=${METHODS:-sam random bitfit}
SEEDS=${SEEDS:-1 2 3}
RATIOS=${RATIOS:-0.05}
STEPS=${STEPS:-20}
MT_OPTS=${MT_OPTS:---max-steps 250 --eval-every 25 --patience 6 --lr 1e-2}
export JOBS=${JOBS:-$(nproc)}
for t in $TASKS; do vars+=("STEPS_$t=$STEPS"); done

step "sweep: tasks [$TASKS] x methods [$METHODS] x seeds [$SEEDS] at ratio $RATIOS ($JOBS parallel jobs)"
"$root/pipelines/sweep.sh" BIN="$bin" MODEL="$MODEL" DATA="$DATA" OUT="$out/results" \
  TASKS="$TASKS" METHODS="$METHODS" SEEDS="$SEEDS" RATIOS="$RATIOS" MAXLEN=128 BATCH=16 \
  MT_OPTS="$MT_OPTS" "${vars[@]}" | tee "$out/table.txt"

step "tables and plot"
metrics=("$out"/results/metrics/*.metrics)
stats --format markdown "${metrics[@]}" -o "$out/table.md"
stats --format tsv --no-marks "${metrics[@]}" -o "$out/table.tsv"
stats --masks "$out"/results/masks/*-s1.mask > "$out/masks.txt"
if command -v gnuplot > /dev/null; then
  gnuplot -e "infile='$out/table.tsv'; outfile='$out/table.svg'" "$root/pipelines/plot-table.gp"
fi
cat "$out/table.md"
step "done in $(( $(date +%s) - t0 )) s: $out"
ls "$out"
