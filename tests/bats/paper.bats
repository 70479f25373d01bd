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

# paper.mk targets in a given order into one OUT (tiny model, 2 tasks x 3 methods x 2 seeds)
paper_in_order() {
  make -s -f "$ROOT/pipelines/paper.mk" BIN="$BIN" MODEL="$T/model" DATA="$T/data" OUT="$1" \
    TASKS="alpha beta" METHODS="sam random bitfit" SEEDS="1 2" RATIOS_FIG5="0.01 0.1" \
    MT_OPTS="--max-steps 10 --eval-every 5" JOBS=2 \
    EXTRA="STEPS_alpha=2 STEPS_beta=2 MAXLEN=48 'TOKENIZE_ARGS_alpha=--text-fields text --label-field label --name alpha' 'TOKENIZE_ARGS_beta=--text-fields text --label-field label --name beta'" \
    "${@:2}" > "$1.log" 2>&1 || { tail -20 "$1.log"; return 1; }
}

# Each table has exactly the rows of its grid, whatever ran before in the same OUT.
check_tables() {
  local o=$1
  # table1/table2: one row per method (header line first), AVG column present
  [ "$(awk -F'\t' '$2 == "AVG" { print $1 }' "$o/table1.tsv" | sort | xargs)" = "bitfit random sam" ] || { cat "$o/table1.tsv"; false; }
  [ "$(awk -F'\t' '$2 == "AVG" { print $1 }' "$o/table2.tsv" | sort | xargs)" = "bitfit random sam" ] || { cat "$o/table2.tsv"; false; }
  [ "$(awk -F'\t' '$3 ~ /^[0-9]+$/' "$o/table1.tsv" | wc -l)" -eq 9 ]
  # fig5: sam at each ratio of RATIOS_FIG5 per task, for test and for train
  [ "$(sed 1,2d "$o/fig5.test.tsv" | cut -f4 | sort -u | xargs)" = "0.01 0.1" ] || { cat "$o/fig5.test.tsv"; false; }
  [ "$(sed 1,2d "$o/fig5.train.tsv" | cut -f5 | sort -u | xargs)" = "train" ] || { cat "$o/fig5.train.tsv"; false; }
  [ "$(sed 1,2d "$o/fig5.test.tsv" | cut -f5 | sort -u | xargs)" = "test" ]
  [ "$(sed 1,2d "$o/fig5.train.tsv" | wc -l)" -eq 4 ]
  # masks: the 2 tasks x 3 methods x 2 seeds masks at RATIO (bitfit's too), none of fig5's
  [ "$(grep -cE '^ *[0-9]+ +(sam|random|bitfit)/' "$o/masks.txt")" -eq 12 ] || { cat "$o/masks.txt"; false; }
  # every mask's label names its seed (stats --masks)
  [ "$(grep -cE '^ *[0-9]+ +(sam|random|bitfit)/[^ ]*/s[12] ' "$o/masks.txt")" -eq 12 ] ||
    { grep -E '^ *[0-9]+ +(sam|random|bitfit)/' "$o/masks.txt"; false; }
  ! grep -qE '/0\.1/|/0\.01/' "$o/masks.txt"
  # table4: the deltas of table1's runs (2 tasks x 2 seeds per method), none of fig5's or table2's
  [ "$(awk -F'\t' 'NR > 2 && NF == 8 { print $1 ":" $3 }' "$o/table4.tsv" | xargs)" = "random:4 bitfit:4 sam:4" ] ||
    { cat "$o/table4.tsv"; false; }
  # every sweep's jobs went through parallel with two slots: some ran at the same time
  local log overlapped=0
  for log in $(ls -d "$o/runs/joblogs/"* | grep -v '\.args$'); do
    awk -F'\t' 'NR > 1 { s[NR] = $3; e[NR] = $3 + $4 }
      END { for (i in s) for (j in s) if (i < j && s[i] < e[j] && s[j] < e[i]) { f = 1 } exit !f }' "$log" &&
      overlapped=$((overlapped + 1))
  done
  [ "$overlapped" -ge 3 ] || { echo "only $overlapped joblogs show parallel jobs"; false; }
}

@test "paper.mk: table1, fig5, table2, masks, table4 in one OUT in two different orders, each table exactly its rows" {
  command -v gnuplot > /dev/null || skip "gnuplot not installed (make deps)"
  T=$(mktemp -d)
  init-model --vocab "$FIXTURES/tiny-vocab" --seed 1 -o "$T/model"
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/alpha" 48 1
  python3 "$ROOT/pipelines/make-demo-data.py" "$T/data/beta" 48 2
  paper_in_order "$T/a" fig5 table1 masks table2 table4
  check_tables "$T/a"
  paper_in_order "$T/b" table2 table4 table1 fig5 masks
  check_tables "$T/b"
  # a rerun of any target in any order works and changes nothing
  paper_in_order "$T/a" table1 fig5
  check_tables "$T/a"
  rm -rf "$T"
}
