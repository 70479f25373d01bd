#!/usr/bin/env bash
# sweep.sh — run many experiments of pipelines/run.mk with GNU parallel.
#
#   pipelines/sweep.sh MODEL=dir DATA=dir OUT=results TASKS="cb stsb" METHODS="sam random" \
#                      SEEDS="1 2 3" RATIOS=0.005 [other run.mk variables]
#
# Stages: (1) tokenized data and burn-in gradients, shared by several runs, with make -j;
# (2) one parallel job per run (task method ratio seed), each a `make` of its metrics file,
# so a killed sweep resumes where it stopped: finished files are never rebuilt, and parallel's
# --joblog records what ran; (3) the stats table.
#
# Environment:
#   JOBS=N            job slots (default: number of cores; with GPUS, one per GPU)
#   GPUS=N            one slot per GPU, CUDA_VISIBLE_DEVICES = slot - 1
#   SSHLOGINFILE=f    spread jobs over the machines of f (parallel --sshloginfile); they must
#                     share OUT (e.g. NFS) and have the tools at the same path
#   JOBLOG=f          parallel's job log (default OUT/joblogs/<hash of the arguments>: one per
#                     grid, since parallel's --resume matches jobs by sequence number and a
#                     second grid in the same log would skip the first grid's job numbers)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=results
for a in "$@"; do case $a in OUT=*) out=${a#OUT=} ;; esac; done
mkdir -p "$out"
mk=(make --no-print-directory -f "$here/run.mk" "$@")

jobs=${JOBS:-$(nproc)}
[ -n "${GPUS:-}" ] && jobs=$GPUS
grid_id=$(printf '%s\n' "$@" | sha256sum | cut -c1-16)
mkdir -p "$out/joblogs"
joblog=${JOBLOG:-$out/joblogs/$grid_id}
printf '%s\n' "$@" > "$out/joblogs/$grid_id.args"

echo "sweep: data and burn-in gradients" >&2
"${mk[@]}" -j "$jobs" data grads

echo "sweep: runs" >&2
remote=()
[ -n "${SSHLOGINFILE:-}" ] && remote=(--sshloginfile "$SSHLOGINFILE" --workdir "$PWD")
gpu_env='true'
[ -n "${GPUS:-}" ] && gpu_env='export CUDA_VISIBLE_DEVICES=$(({%} - 1))'
# Quote the make arguments once for the job's shell.
args=$(printf '%q ' "$@")
"${mk[@]}" -s list-jobs |
  parallel --colsep ' ' -j "$jobs" --joblog "$joblog" --resume --halt soon,fail=1 "${remote[@]}" \
    "$gpu_env; make --no-print-directory -s -f $(printf '%q' "$here/run.mk") $args TASKS={1} METHODS={2} RATIOS={3} SEEDS={4} all"

echo "sweep: table" >&2
"${mk[@]}" -s table
