#!/usr/bin/env bats
# pipelines/paper.mk: every target of the paper's experiments runs and ends in stats output and
# a gnuplot figure (tiny model, generated tasks, few seeds and steps).
load helper

@test "paper.mk: table1, table2, fig5, fig4, masks and table4" {
  command -v gnuplot > /dev/null || skip "gnuplot not installed (make deps)"
  T=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$T/model"
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/alpha" 48 1
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/beta" 48 2
  run make -s -f "$ROOT/pipelines/paper.mk" BIN="$BIN" MODEL="$T/model" DATA="$T/data" OUT="$T/paper" \
    TASKS="alpha beta" METHODS="sam random bitfit lora" SEEDS="1 2" RATIOS_FIG5="0.01 0.1" \
    MT_OPTS="--max-steps 10 --eval-every 5" \
    EXTRA="STEPS_alpha=2 STEPS_beta=2 MAXLEN=48 'TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha' 'TOKENIZE_ARGS_beta=--text-fields text --label-field label --name beta'" \
    table1 table2 fig5 fig4 masks table4
  [ "$status" -eq 0 ] || { echo "$output" | tail -20; false; }
  for f in table1.md table1.tex table1.svg ttest.txt table2.txt table2.svg fig5.test.tsv fig5.svg fig4.txt fig4.svg masks.txt table4.txt table4.md table4.tsv; do
    [ -s "$T/paper/$f" ] || { echo "missing $f"; false; }
  done
  grep -q "alpha" "$T/paper/table1.md"
  grep -q "Welch" "$T/paper/ttest.txt"
  grep -q "pooled" "$T/paper/fig4.txt"
  grep -q "0.1" "$T/paper/fig5.test.tsv"
  # Table 4 from the 4 deltas per method (2 tasks x 2 seeds) of table1, not table2's
  for m in random bitfit lora sam; do
    grep -Eq "^$m	$m	4	" "$T/paper/table4.tsv" || { cat "$T/paper/table4.tsv"; false; }
  done
  if grep -q "drop" "$T/paper/table4.tsv"; then false; fi
  rm -rf "$T"
}
