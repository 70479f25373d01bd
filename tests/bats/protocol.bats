#!/usr/bin/env bats
# The paper's protocol as switches (PAPER.md, "What the paper's code actually does"):
# masktrain --clip-scope, --decay-frozen against an independent float64 PyTorch reference;
# --schedule-steps, --dev-limit, --keep, --max-steps 0; gradacc --clip; paper.mk PROTOCOL=paper.
load helper

setup_file() {
  export PT=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$PT/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$PT/data" 96 0
  python3 "$ROOT/pipelines/make-demo-data.py" "$PT/small" 12 5
  for s in train val; do
    tokenize --vocab "$PT/tiny" --text-fields text --label-field label "$PT/data/$s.jsonl" -o "$PT/$s.ex"
  done
  tokenize --vocab "$PT/tiny" --text-fields text --label-field label "$PT/small/train.jsonl" -o "$PT/small.ex"
  sam-select --method random --ratio 0.05 --model "$PT/tiny" --seed 3 -o "$PT/random.mask"
  sam-select --method random --ratio 0.05 --model "$PT/tiny" --seed 3 --head hf -o "$PT/random-hf.mask"
}
teardown_file() { rm -rf "$PT"; }

mt() { masktrain --model "$PT/tiny" --mask "$PT/random.mask" --dev "$PT/val.ex" -q "$@"; }
header() { inspect --json "$1" | head -n 1; }
export_of() { rm -rf "$2"; evaluate --model "$PT/tiny" --delta "$1" --export "$2" "$PT/val.ex" -o /dev/null; }

# Two steps on one batch of all 12 examples (no dropout, constant lr) against
# tests/ref/masktrain_ref.py, started from the --max-steps 0 delta's state.  lr 1e-2 and
# weight decay 0.1 make decay-only changes (--decay-frozen) large against fp32 rounding;
# max-grad-norm 0.05 clips the first step (norms 0.1 to 0.16, by head and scope).
ref_case() { # head clip-scope max-grad-norm [--decay-frozen]
  local head=$1 scope=$2 clip=$3 extra=${4:-} tag="$1-$2-$3${4:-}" mask="$PT/random.mask"
  [ "$head" = hf ] && mask="$PT/random-hf.mask"
  local common=(--mask "$mask" --head "$head" --seed 4 --batch 12 --dropout 0 "$PT/small.ex")
  if [ ! -d "$PT/init-$head" ]; then
    mt --max-steps 0 "${common[@]}" -o "$PT/init-$head.delta"
    export_of "$PT/init-$head.delta" "$PT/init-$head"
  fi
  mt --max-steps 2 --keep last --schedule constant --lr 1e-2 --weight-decay 0.1 --max-grad-norm "$clip" \
    --clip-scope "$scope" $extra --log "$PT/ref-$tag.log" "${common[@]}" -o "$PT/ref-$tag.delta"
  export_of "$PT/ref-$tag.delta" "$PT/ref-$tag"
  inspect --json "$PT/small.ex" > "$PT/small.json"
  inspect --json --max-elems 100000000 "$mask" > "$PT/mask-$head.json"
  run /usr/bin/python3 "$ROOT/tests/ref/masktrain_ref.py" --init "$PT/init-$head" --final "$PT/ref-$tag" \
    --examples "$PT/small.json" --mask "$PT/mask-$head.json" --log "$PT/ref-$tag.log" --steps 2 --lr 1e-2 \
    --weight-decay 0.1 --max-grad-norm "$clip" --clip-scope "$scope" $extra --arch "$head" --tol 1e-4
  echo "$output" | grep -E "worst|step [12]:"
  assert_success
}

@test "reference (jiant head): --clip-scope trainable, clipped, equals two float64 AdamW steps" {
  ref_case jiant trainable 0.05
  assert_output --regexp "step 1: .*, clipped"
}

@test "reference (jiant head): --clip-scope all (dense norm of every parameter, then masked), clipped" {
  ref_case jiant all 0.05
  assert_output --regexp "step 1: .*, clipped"
}

@test "reference (jiant head): --clip-scope all --decay-frozen (frozen entries decay), not clipped" {
  ref_case jiant all 1.0 --decay-frozen
  assert_output --regexp "step 1: .*, not clipped"
}

@test "reference (jiant head): --clip-scope trainable --decay-frozen, clipped" {
  ref_case jiant trainable 0.05 --decay-frozen
}

@test "reference (hf head): --clip-scope trainable, and all --decay-frozen" {
  ref_case hf trainable 0.05
  assert_output --regexp "step 1: .*, clipped"
  ref_case hf all 0.05 --decay-frozen
  assert_output --regexp "step 1: .*, clipped"
}

@test "--max-steps 0: no step, no evaluation; zero sparse changes and the initial head" {
  mt --max-steps 0 --seed 7 "$PT/train.ex" -o "$PT/zero.delta"
  run header "$PT/zero.delta"
  assert_output --partial '"steps":0,"best_step":-1,"best_dev_metric":null'
  assert_output --partial '"evaluations":0'
  inspect --json --max-elems 100000000 "$PT/zero.delta" > "$PT/zero.json"
  run /usr/bin/python3 - "$PT/zero.json" <<'PY'
import json, sys
import numpy as np
recs = [json.loads(l) for l in open(sys.argv[1])][1:-1]
heads = 0
for r in recs:
    if "value" in r:
        assert not any(r["value"]), r["name"]
    elif r["name"].startswith("roberta.pooler."):
        pass  # a pooler the checkpoint lacks, initialised from the seed, ships whole
    else:
        assert r["name"].startswith("classifier."), r["name"]
        x = np.array(r["data"])
        if r["name"].endswith("bias"):
            assert not x.any(), r["name"]
        else:
            assert 0.01 < x.std() < 0.03, (r["name"], x.std())  # normal(0, 0.02)
        heads += 1
assert heads == 4, heads
print("ok")
PY
  assert_success
  mt --max-steps 0 --seed 7 "$PT/train.ex" -o "$PT/zero2.delta"
  cmp <(inspect --json "$PT/zero.delta" | tail -n +2) <(inspect --json "$PT/zero2.delta" | tail -n +2)
  evaluate --model "$PT/tiny" --delta "$PT/zero.delta" "$PT/val.ex" -o "$PT/zero.metrics"
}

@test "--schedule-steps: the logged lr follows warm-up and decay over the schedule, not --max-steps" {
  mt --max-steps 12 --schedule-steps 40 --warmup 0.1 --lr 1e-3 --eval-every 6 --log "$PT/lr.log" \
    "$PT/train.ex" -o "$PT/lr.delta"
  run /usr/bin/python3 - "$PT/lr.log" <<'PY'
import json, sys
lr = {r["step"]: r["lr"] for r in map(json.loads, open(sys.argv[1])) if "lr" in r}
assert sorted(lr) == list(range(1, 13)), sorted(lr)
peak, warm, total = 1e-3, 4, 40  # warm-up: 10 % of the schedule
def want(step):  # the lr of step `step` (1-based): HF's factor at step - 1 steps taken
    t = step - 1
    return peak * t / warm if t < warm else peak * (total - t) / (total - warm)
for s in (1, 2, warm, warm + 1, 8, 12):
    assert abs(lr[s] - want(s)) <= 1e-9 * peak, (s, lr[s], want(s))
assert lr[1] == 0 and lr[warm + 1] == peak and 0.7 * peak < lr[12] < peak
print("ok")
PY
  assert_success
  run header "$PT/lr.delta"
  assert_output --partial '"warmup_steps":4,"max_steps":12,"schedule_steps":40'
  mt --max-steps 12 --schedule-steps 40 --warmup 4 --lr 1e-3 --eval-every 6 --log "$PT/lr4.log" \
    "$PT/train.ex" -o "$PT/lr4.delta"
  cmp <(grep -o '"lr":[^,]*' "$PT/lr.log") <(grep -o '"lr":[^,]*' "$PT/lr4.log")
}

@test "--dev-limit N: early stopping scores the first N dev examples, in file order" {
  mt --max-steps 4 --eval-every 4 --keep last --dev-limit 10 --lr 1e-3 --log "$PT/dl.log" \
    "$PT/train.ex" -o "$PT/dl.delta"
  run header "$PT/dl.delta"
  assert_output --partial '"dev_examples":10'
  head -n 10 "$PT/data/val.jsonl" > "$PT/val10.jsonl"
  tokenize --vocab "$PT/tiny" --text-fields text --label-field label "$PT/val10.jsonl" -o "$PT/val10.ex"
  evaluate --model "$PT/tiny" --delta "$PT/dl.delta" "$PT/val10.ex" -o "$PT/dl.metrics"
  logged=$(grep -o '"dev_metric":[^,]*' "$PT/dl.log" | cut -d: -f2)
  scored=$(inspect --json "$PT/dl.metrics" | sed -n 2p | grep -o '"metric":[^,}]*' | cut -d: -f2)
  echo "logged $logged, evaluate on the first 10: $scored"
  /usr/bin/python3 -c "import sys; assert abs($logged - $scored) < 1e-6"
  run mt --dev-limit 0 "$PT/train.ex"
  assert_failure 2
}

@test "--keep last: the delta holds the last state; best is the default" {
  mt --max-steps 6 --eval-every 2 --keep last --lr 1e-3 --seed 5 "$PT/train.ex" -o "$PT/last.delta"
  mt --max-steps 6 --eval-every 1000 --lr 1e-3 --seed 5 "$PT/train.ex" -o "$PT/end.delta"  # one evaluation, at step 6
  mt --max-steps 6 --eval-every 2 --lr 1e-3 --seed 5 "$PT/train.ex" -o "$PT/best.delta"
  cmp <(inspect --json "$PT/last.delta" | tail -n +2) <(inspect --json "$PT/end.delta" | tail -n +2)
  run header "$PT/last.delta"
  assert_output --partial '"keep":"last"'
  run header "$PT/best.delta"
  assert_output --partial '"keep":"best"'
  best=$(header "$PT/best.delta" | grep -o '"best_step":[0-9]*' | cut -d: -f2)
  if [ "$best" != 6 ]; then # another state than the last one
    ! cmp -s <(inspect --json "$PT/best.delta" | tail -n +2) <(inspect --json "$PT/last.delta" | tail -n +2)
  fi
  run mt --keep first "$PT/train.ex"
  assert_failure 2
  assert_output --partial "best or last"
}

@test "gradacc --clip: the reduction of per-batch clipped gradients, computed independently" {
  ga() { gradacc --model "$PT/tiny" --batch 6 --dropout 0 --seed 2 -q "$PT/small.ex" "$@"; }
  ga --steps 2 -o "$PT/g01.st"   # g0 + g1 (two halves of the shuffle)
  ga --steps 1 -o "$PT/g0.st"    # g0 alone
  for f in g01 g0; do inspect --to "$PT/$f.safetensors" "$PT/$f.st"; done
  # max norm halfway between the two batches' norms: one is clipped, the other not
  clip=$(PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$PT" <<'PY'
import sys
import numpy as np
from st_numpy import load
d = sys.argv[1]
a, b = load(d + "/g01.safetensors"), load(d + "/g0.safetensors")
n0 = np.sqrt(sum(float((v.astype(np.float64) ** 2).sum()) for v in b.values()))
n1 = np.sqrt(sum(float(((a[k].astype(np.float64) - v) ** 2).sum()) for k, v in b.items()))
print("%.6g" % ((n0 + n1) / 2))
PY
)
  for r in sum sumsq abs; do
    ga --steps 2 --clip "$clip" --reduce $r -o "$PT/c.$r.st"
    inspect --to "$PT/c.$r.safetensors" "$PT/c.$r.st"
    run env PYTHONPATH="$ROOT/tests/tools" /usr/bin/python3 - "$PT" "$r" "$clip" <<'PY'
import sys
import numpy as np
from st_numpy import load
d, red, mx = sys.argv[1], sys.argv[2], float(sys.argv[3])
a, b, c = (load(d + f) for f in ("/g01.safetensors", "/g0.safetensors", "/c.%s.safetensors" % red))
g0 = {k: v.astype(np.float64) for k, v in b.items()}
g1 = {k: a[k].astype(np.float64) - v for k, v in g0.items()}
f = {"sum": lambda x: x, "sumsq": lambda x: x * x, "abs": np.abs}[red]
want, scales = {k: 0 for k in g0}, []
for g in (g0, g1):
    norm = np.sqrt(sum((v ** 2).sum() for v in g.values()))
    s = min(1.0, mx / (norm + 1e-6))  # clip_grad_norm_
    scales.append(s)
    for k in g:
        want[k] = want[k] + f(g[k] * s)
assert min(scales) < 1 and max(scales) == 1, scales
num = np.sqrt(sum(((c[k] - want[k]) ** 2).sum() for k in want))
den = np.sqrt(sum((want[k] ** 2).sum() for k in want))
print("%s: scales %s, relative error %.2e" % (red, scales, num / den))
assert num / den < 1e-5
PY
    echo "$output"
    assert_success
  done
  run sh -c "inspect --json '$PT/c.sum.st' | head -n 1"
  assert_output --partial "\"clip\":$clip"
}

@test "paper.mk PROTOCOL=paper: the dry run's commands carry the paper's options" {
  D="$PT/pdata"
  mkdir -p "$D/rte"
  for s in train val test; do printf '{}\n' > "$D/rte/$s.jsonl"; done
  run make -n -f "$ROOT/pipelines/paper.mk" PROTOCOL=paper BIN=/B MODEL=/M DATA="$D" OUT="$PT/p" \
    TASKS=rte METHODS=sam SEEDS=1 table1
  assert_success
  line=$(echo "$output" | grep -m1 'sweep.sh')
  for o in "--head jiant" "--dev-limit 500" "--clip-scope all" "--decay-frozen" "--min-steps 20000" "--patience 40" \
           "--eval-every 500" "--lr 1e-4" "--warmup 0.1" "SCHEDULE_EPOCHS=10000" "BURNIN_SKIP=1"; do
    [[ $line == *"$o"* ]] || { echo "missing $o in: $line"; false; }
  done
  # the run.mk commands of one task, with the arguments sweep.sh passes on
  args=${line#*sweep.sh }
  eval "set -- ${args%%>*}"
  run make -n -f "$ROOT/pipelines/run.mk" "$@" OUT="$PT/p/runs" TASKS=rte METHODS=sam RATIOS=0.005 SEEDS=1 all
  assert_success
  echo "$output" | grep -E "gradacc|masktrain|tokenize"
  echo "$output" | grep -q -- "tokenize .*--max-len 256"
  echo "$output" | grep -E -q -- "gradacc .*--steps 699 .*--batch 16 .*--head jiant --clip 1.0"
  mtline=$(echo "$output" | grep masktrain)
  for o in "--head jiant" "--batch 16" "--lr 1e-4" "--eval-every 500" "--dev-limit 500" "--patience 40" "--min-steps 20000" \
           "--warmup 0.1" "--clip-scope all" "--decay-frozen" "--schedule-steps" "10000"; do
    [[ $mtline == *"$o"* ]] || { echo "missing $o in: $mtline"; false; }
  done
  # the clean protocol (default) passes none of them
  run make -n -f "$ROOT/pipelines/run.mk" BIN=/B MODEL=/M DATA="$D" OUT="$PT/p/clean" TASKS=rte METHODS=sam SEEDS=1 all
  echo "$output" | grep -E -q -- "gradacc .*--steps 700 "
  ! echo "$output" | grep -q -- "--clip"
}

@test "paper.mk PROTOCOL=paper runs end to end (tiny task, short overrides)" {
  command -v gnuplot > /dev/null || skip "gnuplot not installed (make deps)"
  D="$PT/ptasks"
  python3 "$ROOT/pipelines/make-demo-data.py" "$D/alpha" 40 1
  run make -s -f "$ROOT/pipelines/paper.mk" PROTOCOL=paper BIN="$BIN" MODEL="$PT/tiny" DATA="$D" OUT="$PT/pp" \
    TASKS=alpha METHODS=sam SEEDS=1 MT_OPTS="--min-steps 0 --max-steps 6 --eval-every 3" \
    EXTRA="STEPS_alpha=3 MAXLEN=48 KEEP_GRADS=1 'TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha'" table1
  [ "$status" -eq 0 ] || { echo "$output" | tail -20; false; }
  run sh -c "inspect --json '$PT/pp/runs/grads/alpha-s1.sum' | head -n 1"
  assert_output --partial '"steps":2,'
  assert_output --partial '"clip":1.0'
  n=$(inspect --json "$PT/pp/runs/data/alpha/train.ex" | tail -n 1 | tr -dc 0-9)
  run sh -c "inspect --json '$PT/pp/runs/deltas/alpha-sam-r0.005-s1.delta' | head -n 1"
  assert_output --partial "\"steps\":6,"
  assert_output --partial "\"warmup_steps\":$(( 10000 * ((n + 15) / 16) / 10 )),\"max_steps\":6,\"schedule_steps\":$(( 10000 * ((n + 15) / 16) ))"
  assert_output --partial '"decay_frozen":true,"max_grad_norm":1.0,"clip_scope":"all","keep":"best"'
}
