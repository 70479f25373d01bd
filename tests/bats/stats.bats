#!/usr/bin/env bats
# stats: Table 1, t-tests, stability, sweep and mask analysis checked against numpy/scipy values
# (tests/fixtures/stats/gen_stats.py writes the streams and the expected values;
# check_stats.py compares to 1e-6), the text formats, filters and errors.
load helper

PY=/usr/bin/python3

setup_file() {
  export GEN=$BATS_FILE_TMPDIR/gen
  $PY "$ROOT/tests/fixtures/stats/gen_stats.py" runs "$GEN" 2>/dev/null
}

setup() {
  export GEN=$BATS_FILE_TMPDIR/gen
  export PYTHONPATH=$ROOT/tests/tools
  CHECK="$PY $ROOT/tests/fixtures/stats/check_stats.py"
  M="$GEN/cola.metrics $GEN/stsb.metrics $GEN/mrpc.metrics $GEN/rte.metrics $GEN/cb.metrics"
  cd "$BATS_TEST_TMPDIR"
}

# mk FILE RECORDS [META]: a metrics stream from Python literals (mkstream).
mk() {
  $PY - "$1" "$2" "${3:-}" <<'PYEOF'
import sys, mkstream as m
m.write(sys.argv[1], "metrics", eval(sys.argv[2]), meta=eval(sys.argv[3] or "{}"))
PYEOF
}
# R TASK METHOD SEED VALUE [MORE]: one record as a Python dict literal.
R() {
  echo "{'task':'$1','method':'$2','seed':$3,'ratio':0.005,'metric':$4,'components':{'accuracy':$4,'f1':$4},'n':10,'split':'test'${5:+,$5}}"
}

@test "stats: --help and --version" {
  run stats --help
  assert_success
  assert_output --partial "Usage: stats [OPTIONS] [METRICS...]"
  assert_output --partial "--ttest"
  run stats --version
  assert_success
  assert_output --regexp '^stats \(sparsetune\) [0-9]+\.[0-9]+'
}

@test "stats: Table 1 means, stds, ranks and AVG agree with numpy/scipy" {
  stats -f json $M > out.json
  run $CHECK table "$GEN/expected.json" out.json
  assert_success
}

@test "stats: Welch and Student t-tests agree with scipy.stats.ttest_ind" {
  stats -f json --ttest --ref sam $M > w.json
  run $CHECK ttest-welch "$GEN/expected.json" w.json
  assert_success
  stats -f json --ttest --equal-var $M > s.json
  run $CHECK ttest-student "$GEN/expected.json" s.json
  assert_success
}

@test "stats: stability ranks and Spearman rho/p agree with scipy.stats.spearmanr" {
  stats -f json --stability $M > st.json
  run $CHECK stability "$GEN/expected.json" st.json
  assert_success
}

@test "stats: sparsity sweep per ratio and split agrees with numpy" {
  stats -f json --sweep "$GEN"/sweep-*.metrics > sw.json
  run $CHECK sweep "$GEN/expected.json" sw.json
  assert_success
  run stats --sweep "$GEN"/sweep-rte.metrics
  assert_success
  assert_line --regexp '^method +ratio +test +train +train-test$'
  assert_line --regexp '^sam +0\.02 +[0-9.]+ ± [0-9.]+ +[0-9.]+ ± [0-9.]+ +12\.00$'
  # --split chooses one curve (fig5's train curve)
  run stats --sweep --split train "$GEN"/sweep-rte.metrics
  assert_success
  assert_line --regexp '^method +ratio +train$'
  refute_output --partial "test"
  stats -f tsv --sweep --split test "$GEN"/sweep-rte.metrics > sw.tsv
  ! cut -f5 sw.tsv | grep -qx train
  cut -f5 sw.tsv | grep -qx test
}

@test "stats: mask Jaccard matrix and per-layer/per-type counts agree with Python sets" {
  stats -f json --masks "$GEN"/m0.mask "$GEN"/m1.mask "$GEN"/m2.mask "$GEN"/m3.mask > mk.json
  run $CHECK masks "$GEN/expected.json" mk.json
  assert_success
  run stats --masks "$GEN"/m0.mask "$GEN"/m2.mask
  assert_success
  assert_line --regexp '^1 +sam/rte/0.125/s1 +.*m0.mask +10 +131$'
  assert_output --partial "Jaccard overlap"
  # The heads differ in shape between rte and cb: kept only on request, then refused.
  run stats --masks --include-head "$GEN"/m0.mask "$GEN"/m3.mask
  assert_failure 1
  assert_output --partial "tensor 'classifier.out_proj.weight' has another shape than in"
}

@test "stats: text table marks the three best means and smallest stds, '–' for one seed" {
  run stats $M
  assert_success
  assert_line --index 0 "metric × 100, mean ± std over seeds (split test, untagged)"
  assert_line --regexp '^method +cola +stsb +mrpc +rte +cb +AVG$'
  # one seed on rte for random: no std, no AVG std; lora has no cb: blank cell and AVG
  assert_line --regexp '^random .* 74\.06 ± – .* ± –$'
  assert_line --regexp '^lora .*[0-9]\]$'
  # mrpc: full and lora have the same values: the same mean rank (4, unmarked), both std [1]
  assert_line --regexp '^full +[0-9.]+ ± [0-9.]+\[1\] +[0-9.]+ ± [0-9.]+\[3\] +88\.25 ± 0\.92\[1\] '
  assert_line --regexp '^sam +59\.55\[2\] ± 2\.04\[3\] +95\.37\[1\] ± 2\.66 '
  run stats --no-marks --digits 3 $M
  refute_output --partial "[1]"
  assert_line --regexp '^full +57\.250 ± 0\.598 '
}

@test "stats: markdown, latex and tsv forms" {
  run stats -f markdown $M
  assert_success
  assert_line "| method | cola | stsb | mrpc | rte | cb | AVG |"
  assert_line "|---|---:|---:|---:|---:|---:|---:|"
  assert_output --partial "59.55<sup>[2]</sup> ± 2.04<sup>[3]</sup>"
  run stats -f latex $M
  assert_success
  assert_line '\begin{tabular}{lrrrrrr}'
  assert_output --partial '59.55$^{[2]}$$\pm$2.04$^{[3]}$'
  assert_output --partial '74.06$\pm$--'
  run stats -f tsv $M
  assert_success
  assert_line "method	task	n	mean	std	mean_rank	std_rank"
  assert_line "random	rte	1	74.06	NA	5	NA"
  assert_line "lora	cb	0	NA	NA	NA	NA"
}

@test "stats: --split, --tag, --ratio, --methods, --tasks and --metric select runs" {
  run stats -f tsv --split dev "$GEN/cola.metrics"
  assert_success
  assert_line "sam	cola	1	99	NA	1	NA"
  run stats -f tsv --tag drop0.1 "$GEN/cola.metrics"
  assert_line "sam	cola	1	1	NA	1	NA"
  run stats --any-tag "$GEN/cola.metrics"
  assert_line --regexp '^sam:drop0\.1 +1\.00 ± –'
  run stats -f tsv --ratio 1 $M
  assert_success
  refute_output --regexp $'\nsam'
  assert_line --regexp '^full	cola	5	'
  run stats --methods sam,full --tasks rte,cola $M
  assert_success
  assert_line --index 1 --regexp '^method +rte +cola +AVG$'
  assert_line --index 2 --regexp '^sam '
  assert_line --index 3 --regexp '^full '
  mk a.st "[$(R rte sam 1 0.5 "'components':{'accuracy':0.25}"),$(R rte sam 2 0.5 "'components':{'accuracy':0.75}")]"
  run stats -f tsv --metric accuracy a.st
  assert_line "sam	rte	2	50	35.3553390593	1	1"
}

@test "stats: standard input and atomic -o" {
  run bash -c "stats -f tsv < '$GEN/rte.metrics'"
  assert_success
  assert_line --regexp '^sam	rte	5	'
  stats -o t.txt $M
  grep -q '^sam ' t.txt
  run stats -o bad.txt "$GEN/rte.metrics" "$GEN/m0.mask"
  assert_failure 1
  [ ! -e bad.txt ]
}

@test "stats: zero variance on both sides gives t = inf, p = 0 (and null for equal means)" {
  mk z.st "[$(R cb sam 1 0.9),$(R cb sam 2 0.9),$(R cb full 1 0.8),$(R cb full 2 0.8),$(R cb lora 1 0.9),$(R cb lora 2 0.9)]"
  run stats --ttest -f tsv z.st
  assert_success
  assert_line "cb	sam	full	2	2	90	80	inf	NA	0"
  assert_line "cb	sam	lora	2	2	90	90	NA	NA	NA"
  stats --ttest -f json z.st > z.json
  $PY -c "
import json; d = json.load(open('z.json'))['ttest']['rows']
assert d[0]['cells']['cb']['t'] == 'inf' and d[0]['cells']['cb']['p'] == 0, d
assert d[1]['cells']['cb']['t'] is None and d[1]['cells']['cb']['p'] is None, d"
}

@test "stats: one method, one seed: no std, stability undefined" {
  mk one.st "[$(R rte sam 1 0.7)]"
  run stats -f tsv one.st
  assert_success
  assert_line "sam	rte	1	70	NA	1	NA"
  run stats --stability one.st
  assert_success
  assert_line --regexp '^pooled +0 +– +–$'
}

@test "stats: bad input is refused with the file and record" {
  run stats "$GEN/m0.mask"
  assert_failure 1
  assert_output --partial "m0.mask: expected a metrics stream, got mask"
  mk nosplit.st "[{'task':'rte','method':'sam','seed':1,'ratio':0.005,'metric':0.5,'n':3}]"
  run stats nosplit.st
  assert_failure 1
  assert_output --partial "nosplit.st: record 0: missing field 'split'"
  mk badsplit.st "[$(R rte sam 1 0.5 "'split':'val'")]"
  run stats badsplit.st
  assert_failure 1
  assert_output --partial "field 'split': expected \"test\", \"dev\" or \"train\", got \"val\""
  mk nan.st "[$(R rte sam 1 "float('nan')")]"
  run stats nan.st
  assert_failure 1
  assert_output --partial "field 'metric' is not finite"
  mk other.st "[$(R rte sam 1 0.5)]" "{'task':'cb'}"
  run stats other.st
  assert_failure 1
  assert_output --partial "task \"rte\" in a stream whose header says task \"cb\""
  run stats --metric f1 "$GEN/rte.metrics"
  assert_success
  run stats --metric mcc "$GEN/rte.metrics"
  assert_failure 1
  assert_output --partial "components has no 'mcc'"
  head -c 200 "$GEN/rte.metrics" > cut.st
  run stats cut.st
  assert_failure 1
  assert_output --partial "cut.st"
}

@test "stats: duplicate runs, empty selections and --ref errors" {
  run stats "$GEN/rte.metrics" "$GEN/rte.metrics"
  assert_failure 1
  assert_output --regexp "rte.metrics: record [0-9]+: the same run as .*rte.metrics record [0-9]+ \(task rte, method"
  run stats --ratio 0.5 "$GEN/rte.metrics"
  assert_failure 1
  assert_output --partial "no runs match (split test, ratio 0.5, untagged)"
  run stats --ttest --ref nosuch "$GEN/rte.metrics"
  assert_failure 1
  assert_output --partial "--ref nosuch: no such method"
  run stats --ttest --any-tag "$GEN/cola.metrics"
  assert_failure 1
  assert_output --partial "--ref sam: the method has 2 rows (sam:untagged, sam:drop0.1)"
}

@test "stats: usage errors exit 2" {
  run stats --format yaml x
  assert_failure 2
  assert_output --partial "--format: expected text, markdown, tsv, latex or json"
  run stats --split val x
  assert_failure 2
  run stats --masks --ttest x
  assert_failure 2
  run stats --include-head x
  assert_failure 2
  run stats - -
  assert_failure 2
  run stats --digits -1 x
  assert_failure 2
}

@test "stats: the paper's Table 1 numbers give its AVG column (mean of means ± mean of stds)" {
  # Two seeds at mean ± std/sqrt(2) have exactly the paper's mean and sample std.
  $PY - <<'PYEOF'
import math, re, mkstream as m
tasks = ["cola", "stsb", "mrpc", "rte", "cb", "copa", "wsc"]
rows = """full 58.36 1.74 89.80 0.52 89.55 0.81 76.03 2.14 88.93 2.37 67.70 4.41 53.10 6.18
random 58.35 1.05 89.81 0.11 88.73 0.80 72.71 3.23 90.54 3.39 68.80 2.64 52.88 5.97
mixout 58.66 1.96 90.15 0.17 88.69 0.60 77.55 1.64 86.51 4.13 71.30 4.84 52.98 6.78
bitfit 56.67 1.45 90.12 0.14 87.35 0.58 72.74 2.47 86.96 3.20 71.20 3.79 55.10 5.39
magnitude 56.57 2.47 90.30 0.14 88.09 0.79 73.53 1.84 81.25 3.50 71.50 2.46 55.67 2.73
adapter 62.11 1.22 90.05 0.13 89.29 0.60 76.93 2.05 87.32 4.62 69.50 2.54 57.02 5.27
lora 60.88 1.48 87.19 0.51 89.53 0.62 76.97 1.92 84.64 3.76 69.70 2.83 56.84 4.52
diffpruning 58.53 1.49 89.59 0.34 78.79 6.09 69.93 7.87 86.25 2.65 72.10 2.91 53.37 3.60
childpruning 60.00 1.29 89.97 1.51 87.19 3.86 75.76 4.38 86.61 3.22 69.40 4.00 55.59 3.81
sam 60.89 0.96 90.59 0.14 88.84 0.49 76.79 1.72 88.93 1.75 74.30 2.45 59.52 3.08"""
recs = []
for line in rows.splitlines():
    f = line.split()
    for i, t in enumerate(tasks):
        mean, sd = float(f[1 + 2 * i]) / 100, float(f[2 + 2 * i]) / 100
        for seed, sign in ((1, -1), (2, 1)):
            v = mean + sign * sd / math.sqrt(2)
            recs.append({"task": t, "method": f[0], "seed": seed, "ratio": 0.005, "metric": v,
                         "components": {}, "n": 100, "split": "test"})
m.write("paper.metrics", "metrics", recs)
PYEOF
  run stats --digits 2 paper.metrics
  assert_success
  assert_line --regexp '^full .* 74\.78 ± 2\.60$'
  assert_line --regexp '^random .* 74\.55 ± 2\.46$'
  assert_line --regexp '^adapter .* 76\.03\[2\] ± 2\.35$'
  # The paper averaged unrounded values: a last digit may differ by one (73.85 ± 1.99).
  assert_line --regexp '^magnitude .* 73\.8[45] ± 1\.99\[2\]$'
  assert_line --regexp '^diffpruning .* 72\.65 ± 3\.5[67]$'
  # stsb: three stds of 0.14 tie for rank 3 (bitfit, magnitude, sam)
  assert_line --regexp '^bitfit +[0-9.]+ ± [0-9.]+ +90\.12 ± 0\.14\[3\] '
  assert_line --regexp '^sam +60\.89\[2\] ± 0\.96\[1\] +90\.59\[1\] ± 0\.14\[3\] .* 77\.12\[1\] ± 1\.51\[1\]$'
}
