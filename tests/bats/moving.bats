#!/usr/bin/env bats
# masktrain --method: the baselines whose masks move (MixOut, DiffPruning, ChildPruning,
# ChildTuning-F/-D, MagPruning), their mask logs and stats --masks on them.
load helper

setup_file() {
  export TT=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$TT/tiny"
  python3 "$ROOT/pipelines/make-demo-data.py" "$TT/data" 96 0
  for s in train val; do
    tokenize --vocab "$TT/tiny" --text-fields text --label-field label "$TT/data/$s.jsonl" -o "$TT/$s.ex"
  done
  gradacc --model "$TT/tiny" --steps 1 --batch 8 --seed 1 -q "$TT/train.ex" -o "$TT/g.sum"
  sam-select --method full "$TT/g.sum" -o "$TT/full.mask"
}
teardown_file() { rm -rf "$TT"; }

mt() { masktrain --model "$TT/tiny" --mask "$TT/full.mask" --dev "$TT/val.ex" --seed 1 --lr 1e-3 -q "$@" "$TT/train.ex"; }

# python: the delta's records (name -> (index or None, values)) and the mask log's masks
PYREAD='
import sys, struct
sys.path.insert(0, sys.argv[1])
import streamread as sr
def delta(p):
    h, recs = sr.read(p)
    out = {}
    for r in recs:
        if "index" in r: out[r["name"]] = (sr.ints(r["index"]), sr.floats(r["value"]), r["shape"])
        else: out[r["name"]] = (None, sr.floats(r["data"]), r["shape"])
    return h, out
def masklog(p):
    h, recs = sr.read(p)
    steps = {}
    for r in recs: steps.setdefault(r["step"], {})[r["name"]] = sr.ints(r["index"])
    return steps
'

@test "mixout with p = 0 is full fine-tuning bit for bit" {
  mt --max-steps 6 --eval-every 3 --dropout 0 -o "$TT/full.delta"
  mt --max-steps 6 --eval-every 3 --dropout 0 --method mixout --mixout-p 0 -o "$TT/mix0.delta"
  run python3 -c "$PYREAD
_, a = delta(sys.argv[2]); _, b = delta(sys.argv[3])
assert a.keys() == b.keys()
bad = [n for n in a if a[n] != b[n]]
print(len(a), 'records;', len(bad), 'differ'); assert not bad, bad[:3]" "$ROOT/tests/tools" "$TT/full.delta" "$TT/mix0.delta"
  assert_success
  assert_output --partial "0 differ"
}

@test "mixout p > 0 trains, logs its column masks and the delta names the method" {
  mt --max-steps 4 --eval-every 2 --method mixout --mixout-p 0.5 --mask-log "$TT/mix.mlog" -o "$TT/mix.delta"
  run inspect "$TT/mix.delta"
  assert_output --partial 'method: "mixout"'
  run python3 -c "$PYREAD
s = masklog(sys.argv[2]); print(sorted(s))
cols = [len(v) for m in s.values() for v in m.values()]
assert sorted(s) == [0, 1, 2, 3] and 0 < min(cols)" "$ROOT/tests/tools" "$TT/mix.mlog"
  assert_success
  mt --max-steps 4 --eval-every 2 --method mixout --mixout-variant eval --ratio 0.1 -o "$TT/mixe.delta"
  run inspect "$TT/mixe.delta"
  assert_output --partial '"variant":"eval"'
}

@test "diffpruning: exactly floor(p numel) entries per tensor, the last logged mask" {
  mt --max-steps 12 --eval-every 4 --method diffpruning --burnin 6 --ratio 0.05 --keep last \
    --mask-log "$TT/dp.mlog" --log "$TT/dp.log" -o "$TT/dp.delta"
  run grep -c '"projection":true' "$TT/dp.log"
  assert_output 1
  run python3 -c "$PYREAD
import math
h, d = delta(sys.argv[2]); s = masklog(sys.argv[3]); last = s[max(s)]
n = 0
for name, (idx, val, shape) in d.items():
    if name.startswith('classifier.'): continue
    numel = math.prod(shape); k = int(0.05 * numel)
    assert idx is not None and len(idx) == k, (name, len(idx or []), k)
    assert idx == last[name], name
    n += 1
print(n, 'tensors exact')" "$ROOT/tests/tools" "$TT/dp.delta" "$TT/dp.mlog"
  assert_success
  assert_output --regexp "^[0-9]+ tensors exact"
  # the paper code's variant and re-projection every 4 steps
  mt --max-steps 12 --eval-every 4 --method diffpruning --gate-stretch 3 --alpha-init randn --l0-weight 1 \
    --l0-mean --project-by alpha --reproject-every 4 --ratio 0.05 --mask-log "$TT/dp4.mlog" -o "$TT/dp4.delta"
  run stats --masks "$TT/dp4.mlog"
  assert_success
  assert_output --partial "Mask log: Jaccard with the previous and with the final mask"
  assert_output --partial "diffpruning/0.05@8"
}

@test "childpruning: after each projection the state differs from theta0 exactly at the kept entries" {
  for n in 4 8 11; do
    mt --max-steps $n --eval-every 100 --method childpruning --project-every 4 --burnin 8 --ratio 0.05 \
      --keep last --mask-log "$TT/cp$n.mlog" -o "$TT/cp$n.delta"
    run python3 -c "$PYREAD
h, d = delta(sys.argv[2]); s = masklog(sys.argv[3]); last = s[max(s)]
for name, (idx, val, shape) in d.items():
    if name.startswith('classifier.'): continue
    assert idx == last[name], name
    assert all(v != 0 for v in val), name
print('ok', sorted(s))" "$ROOT/tests/tools" "$TT/cp$n.delta" "$TT/cp$n.mlog"
    assert_success
  done
  run stats --masks "$TT/cp11.mlog"
  assert_output --partial "childpruning/0.05@8"
}

@test "childtuning-f and magpruning train; magpruning's mask is the top |theta| after the burn-in" {
  mt --max-steps 4 --eval-every 2 --method childtuning-f --reserve-p 0.3 -o "$TT/ctf.delta"
  run inspect "$TT/ctf.delta"
  assert_output --partial 'method: "childtuning-f"'
  mt --max-steps 6 --eval-every 3 --method magpruning --burnin 3 --ratio 0.05 --mask-log "$TT/mp.mlog" -o "$TT/mp.delta"
  run inspect "$TT/mp.delta"
  assert_output --partial 'method: "magpruning"'
}

@test "childtuning-d: the mask is the brute-force global top-k of the accumulated Fisher" {
  gradacc --model "$TT/tiny" --steps 6 --batch 8 --seed 1 --reduce sumsq --clip 1 -q "$TT/train.ex" -o "$TT/fisher.g"
  sam-select --method fisher --scope global --ratio 0.05 "$TT/fisher.g" -o "$TT/ctd.mask"
  run python3 -c "
import sys; sys.path.insert(0, sys.argv[1])
import streamread as sr
_, g = sr.read(sys.argv[2]); _, m = sr.read(sys.argv[3])
ent = [(-v, ti, i) for ti, r in enumerate(g) if not r['name'].startswith('classifier.')
       for i, v in enumerate(sr.floats(r['data']))]
k = int(0.05 * len(ent)); ent.sort()
want = {}
for _, ti, i in ent[:k]: want.setdefault(g[ti]['name'], []).append(i)
got = {r['name']: sr.ints(r['index']) for r in m if 'index' in r and sr.ints(r['index'])}
want = {n: sorted(v) for n, v in want.items()}
assert got == want, (len(got), len(want))
print('k', k, 'equal')" "$ROOT/tests/tools" "$TT/fisher.g" "$TT/ctd.mask"
  assert_success
  assert_output --partial equal
}

@test "every method from --max-steps 0 --keep last: the base model; metrics name the method" {
  for m in mixout diffpruning childpruning childtuning-f magpruning; do
    mt --max-steps 0 --keep last --method $m -o "$TT/z-$m.delta"
    evaluate --model "$TT/tiny" --delta "$TT/z-$m.delta" "$TT/val.ex" -o "$TT/z-$m.metrics"
    run inspect --json "$TT/z-$m.metrics"
    assert_output --partial "\"method\":\"$m\""
  done
  mt --max-steps 0 --keep last -o "$TT/z-full.delta"
  evaluate --model "$TT/tiny" --delta "$TT/z-full.delta" "$TT/val.ex" -o "$TT/z-full.metrics"
  run python3 -c "$PYREAD
_, a = delta(sys.argv[2])
for m in sys.argv[3:]:
    _, b = delta(m)
    for n in a:
        if n.startswith('classifier.'): assert a[n] == b[n], (m, n)
print('ok')" "$ROOT/tests/tools" "$TT/z-full.delta" "$TT"/z-mixout.delta "$TT"/z-childpruning.delta
  assert_success
}

@test "masktrain --method: bad input and usage" {
  run mt --method nosuch --max-steps 1
  assert_failure 2
  run mt --mask-log "$TT/x.mlog" --max-steps 1
  assert_failure 2
  assert_output --partial "--mask-log needs --method"
  sam-select --ratio 0.05 "$TT/g.sum" -o "$TT/sam.mask"
  run masktrain --model "$TT/tiny" --mask "$TT/sam.mask" --dev "$TT/val.ex" --method childpruning --max-steps 1 -q "$TT/train.ex"
  assert_failure 1
  assert_output --partial "trains whole tensors"
  run mt --method diffpruning --checkpoint "$TT/c.ckpt" --max-steps 1
  assert_failure 2
}

@test "paper.mk: fig3 (scaled down) prints the re-projections with their Jaccard; table3 from the runs' records" {
  command -v gnuplot > /dev/null || skip "gnuplot not installed (make deps)"
  T="$TT/paper"
  mkdir -p "$T"
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/alpha" 48 1
  ex="STEPS_alpha=2 MAXLEN=48 'TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha'"
  run make -s -f "$ROOT/pipelines/paper.mk" BIN="$BIN" MODEL="$TT/tiny" DATA="$T/data" OUT="$T/out" \
    FIG3_TASK=alpha FIG3_EVERY=10 FIG3_STEPS=40 FIG3_DIFF= FIG3_OPTS="--lr 1e-3 --ratio 0.05" MT_OPTS="--eval-every 20" \
    EXTRA="$ex" fig3
  [ "$status" -eq 0 ] || { echo "$output" | tail -20; false; }
  echo "$output"
  assert_output --partial "re-projections"
  assert_output --regexp "  30  loss [0-9.]+  J\(prev\) 0?\.[0-9]+"
  [ -s "$T/out/fig3.svg" ]
  grep -q "Mask log" "$T/out/fig3.masks.txt"
  run make -s -f "$ROOT/pipelines/paper.mk" BIN="$BIN" MODEL="$TT/tiny" DATA="$T/data" OUT="$T/out" \
    TASKS=alpha SEEDS=1 RATIO=0.05 METHODS="full mixout diffpruning childpruning childtuning-d sam" \
    MT_OPTS="--max-steps 6 --eval-every 3 --burnin 3 --project-every 2" EXTRA="$ex" table3
  [ "$status" -eq 0 ] || { echo "$output" | tail -20; false; }
  assert_output --partial "training time in hours"
  assert_output --partial "childtuning-d"
  assert_output --partial "diffpruning"
}
