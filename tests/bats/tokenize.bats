#!/usr/bin/env bats
# tokenize(1): tasks, generic mode, splits, archives, and bad input.
load helper

setup() {
  TMP=$(mktemp -d)
  VOCAB=$FIXTURES/tiny-vocab
}
teardown() { rm -rf "$TMP"; }

ids_of() { # ids of every record, one line each
  inspect --json "$1" | /usr/bin/python3 -c '
import json,sys
for l in list(sys.stdin)[1:-1]:
    r=json.loads(l); print(" ".join(map(str, r["ids"])))'
}

@test "roberta vocab: 'This is an example' is 0 713 16 41 1246 2" {
  need_shared
  printf '{"text": "This is an example"}\n' > "$TMP/a.jsonl"
  run tokenize --vocab "$SHARED_DATA/roberta-vocab" --text-fields text "$TMP/a.jsonl" -o "$TMP/a.ex"
  assert_success
  run ids_of "$TMP/a.ex"
  assert_output "0 713 16 41 1246 2"
}

@test "every split of the seven tasks tokenizes and checks out against its data" {
  need_shared
  for t in cb cola copa mrpc rte stsb wsc; do
    for s in train val test; do
      f=$SHARED_DATA/tasks/$t/$s.jsonl
      tokenize --task "$t" --vocab "$SHARED_DATA/roberta-vocab" "$f" -o "$TMP/$t.$s.ex"
      inspect --json "$TMP/$t.$s.ex" > "$TMP/$t.$s.json"
      run /usr/bin/python3 "$ROOT/tests/tools/check_examples.py" "$t" "$f" "$TMP/$t.$s.json" "$SHARED_DATA/roberta-vocab"
      [ "$status" -eq 0 ] || { echo "$t/$s: $output"; false; }
    done
  done
}

@test "header carries task type, labels, metric and tokenizer hash" {
  need_shared
  tokenize --task cb --vocab "$SHARED_DATA/roberta-vocab" "$SHARED_DATA/tasks/cb/val.jsonl" -o "$TMP/cb.ex"
  run sh -c "inspect --json '$TMP/cb.ex' | head -n 1"
  assert_output --partial '"task_type":"classification"'
  assert_output --partial '"metric":"acc_macro_f1"'
  assert_output --partial '"labels":["contradiction","entailment","neutral"]'
  assert_output --partial '"tokenizer_sha256"'
}

@test "generic mode: JSON lines with inferred labels, pairs and truncation" {
  printf '{"q":"the cat","a":"a dog","y":"yes"}\n{"q":"the quick brown fox jumps over","a":"the lazy dog","y":"no"}\n' > "$TMP/d.jsonl"
  run tokenize --vocab "$VOCAB" --text-fields q,a --label-field y --max-len 8 "$TMP/d.jsonl" -o "$TMP/d.ex"
  assert_success
  run sh -c "inspect --json '$TMP/d.ex'"
  assert_output --partial '"labels":["no","yes"]'
  run ids_of "$TMP/d.ex"
  # every sequence is at most 8 tokens and framed <s> A </s></s> B </s>
  while read -r line; do
    set -- $line
    [ $# -le 8 ]; [ "$1" = 0 ]; [ "${!#}" = 2 ]
  done <<< "$output"
}

@test "generic mode: GLUE-style TSV, unlabeled, from stdin" {
  printf 'id\tsentence\n1\tthe cat sat\n2\ta movie\n' > "$TMP/d.tsv"
  run tokenize --vocab "$VOCAB" --text-fields sentence --input-format tsv -o "$TMP/d.ex" < "$TMP/d.tsv"
  assert_success
  run sh -c "inspect --json '$TMP/d.ex' | grep -c '\"label\"'"
  assert_output "0"
  run ids_of "$TMP/d.ex"
  [ "${#lines[@]}" -eq 2 ]
}

@test "generic mode: regression labels and explicit label names" {
  printf '{"t":"a","s":"1.5"}\n{"t":"b","s":3}\n' > "$TMP/r.jsonl"
  run tokenize --vocab "$VOCAB" --text-fields t --label-field s --regression "$TMP/r.jsonl" -o "$TMP/r.ex"
  assert_success
  run sh -c "inspect --json '$TMP/r.ex' | grep -o '\"label\":[0-9.]*'"
  assert_line --index 0 '"label":1.5'
  assert_line --index 1 '"label":3.0'
  printf '{"t":"a","y":"pos"}\n{"t":"b","y":"neu"}\n' > "$TMP/c.jsonl"
  run tokenize --vocab "$VOCAB" --text-fields t --label-field y --labels neg,pos "$TMP/c.jsonl"
  assert_failure 1
  assert_output --partial "c.jsonl:2: unknown label 'neu' (expected one of: neg, pos)"
}

@test "--holdout splits rows into disjoint train and dev parts, --drop removes a fraction" {
  for i in $(seq 0 99); do printf '{"text":"row %d","label":"%d"}\n' "$i" $((i % 2)); done > "$TMP/d.jsonl"
  tokenize --task cola --vocab "$VOCAB" --holdout 0.1 --part dev --seed 3 "$TMP/d.jsonl" -o "$TMP/dev.ex"
  tokenize --task cola --vocab "$VOCAB" --holdout 0.1 --part train --seed 3 "$TMP/d.jsonl" -o "$TMP/train.ex"
  tokenize --task cola --vocab "$VOCAB" --drop 0.1 --seed 3 "$TMP/d.jsonl" -o "$TMP/drop.ex"
  idx() { inspect --json "$1" | grep -o '"idx":[0-9]*' | sort; }
  [ "$(idx "$TMP/dev.ex" | wc -l)" -eq 10 ]
  [ "$(idx "$TMP/train.ex" | wc -l)" -eq 90 ]
  [ "$(idx "$TMP/drop.ex" | wc -l)" -eq 90 ]
  [ -z "$(comm -12 <(idx "$TMP/dev.ex") <(idx "$TMP/train.ex"))" ]
  tokenize --task cola --vocab "$VOCAB" --holdout 0.1 --part dev --seed 4 "$TMP/d.jsonl" -o "$TMP/dev4.ex"
  [ "$(idx "$TMP/dev.ex")" != "$(idx "$TMP/dev4.ex")" ]
}

@test "data and vocabulary inside archives (ARCHIVE:MEMBER)" {
  mkdir -p "$TMP/pack/data" "$TMP/pack/vocab"
  printf '{"text":"the cat","label":"1"}\n' > "$TMP/pack/data/train.jsonl"
  cp "$VOCAB"/* "$TMP/pack/vocab/"
  (cd "$TMP/pack" && tar czf ../pack.tar.gz data vocab && zip -qr ../pack.zip data vocab)
  tokenize --task cola --vocab "$VOCAB" "$TMP/pack/data/train.jsonl" -o "$TMP/plain.ex"
  tokenize --task cola --vocab "$TMP/pack.tar.gz:vocab" "$TMP/pack.zip:data/train.jsonl" -o "$TMP/arch.ex"
  [ "$(ids_of "$TMP/plain.ex")" = "$(ids_of "$TMP/arch.ex")" ]
  head -c 100 "$TMP/pack.tar.gz" > "$TMP/cut.tar.gz"
  run tokenize --task cola --vocab "$VOCAB" "$TMP/cut.tar.gz:data/train.jsonl"
  assert_failure 1
  assert_output --partial "cut.tar.gz"
}

@test "bad input: precise FILE:LINE messages, exit 1, no output file left" {
  printf '{"text":"ok","label":"1"}\n{"text": "broken",\n' > "$TMP/badjson.jsonl"
  run tokenize --task cola --vocab "$VOCAB" "$TMP/badjson.jsonl" -o "$TMP/out.ex"
  assert_failure 1
  assert_output --partial "tokenize: $TMP/badjson.jsonl:2: invalid JSON"
  [ ! -e "$TMP/out.ex" ]
  [ -z "$(ls "$TMP" | grep out.ex)" ]

  printf '{"text":"ok","label":"1"}\n{"label":"0"}\n' > "$TMP/missing.jsonl"
  run tokenize --task cola --vocab "$VOCAB" "$TMP/missing.jsonl" -o "$TMP/out.ex"
  assert_failure 1
  assert_output --partial "missing.jsonl:2: missing field 'text'"

  printf '{"premise":"a","hypothesis":"b","label":"maybe"}\n' > "$TMP/label.jsonl"
  run tokenize --task rte --vocab "$VOCAB" "$TMP/label.jsonl" -o "$TMP/out.ex"
  assert_failure 1
  assert_output --partial "label.jsonl:1: unknown label 'maybe'"

  printf '{"text":"ok","label":"1"}\n{"text":"\xff\xfe","label":"1"}\n' > "$TMP/utf.jsonl"
  run tokenize --task cola --vocab "$VOCAB" "$TMP/utf.jsonl" -o "$TMP/out.ex"
  assert_failure 1
  assert_output --partial "utf.jsonl:2: invalid UTF-8"

  : > "$TMP/empty.jsonl"
  run tokenize --task cola --vocab "$VOCAB" "$TMP/empty.jsonl" -o "$TMP/out.ex"
  assert_failure 1
  assert_output --partial "empty.jsonl: empty input"

  printf 'a\tb\n1\n' > "$TMP/bad.tsv"
  run tokenize --text-fields a --vocab "$VOCAB" "$TMP/bad.tsv" -o "$TMP/out.ex"
  assert_failure 1
  assert_output --partial "bad.tsv:2: expected 2 tab-separated fields"
  [ ! -e "$TMP/out.ex" ]
}

@test "usage errors exit 2; --help and --version exit 0" {
  run tokenize --task nope --vocab "$VOCAB"
  assert_failure 2
  assert_output --partial "unknown task 'nope'"
  run tokenize --vocab "$VOCAB"
  assert_failure 2
  run tokenize --task cola
  assert_failure 2
  run tokenize --help
  assert_success
  assert_output --partial "Usage: tokenize"
  run tokenize --version
  assert_success
  assert_output --partial "sparsetune"
}

@test "an example keeps its row's own idx (SuperGLUE's), else its position" {
  local d
  d=$(mktemp -d)
  printf '%s\n' '{"text":"Mark told Pete lies about himself.","target":{"span1_index":0,"span1_text":"Mark","span2_index":4,"span2_text":"himself"},"idx":325,"label":true}' \
    '{"text":"The cat sat.","target":{"span1_index":1,"span1_text":"cat","span2_index":2,"span2_text":"sat."},"label":false}' > "$d/wsc.jsonl"
  tokenize --task wsc --vocab "$FIXTURES/tiny-vocab" "$d/wsc.jsonl" -o "$d/wsc.ex"
  run inspect --json "$d/wsc.ex"
  assert_line --index 1 --partial '"idx":325'
  assert_line --index 2 --partial '"idx":1'
  rm -rf "$d"
}
