#!/usr/bin/env bats
# The embedded default of README's first command: pipelines/demo.sh end to end.
load helper

@test "the demo runs the whole pipeline through parallel and ends with a table and a plot" {
  T=$(mktemp -d)
  # as README runs it: the optimised tools of `make` (make test builds them too); the
  # sanitizer build would take minutes here
  run env SPARSETUNE_BIN="$ROOT/bin" JOBS=2 "$ROOT/pipelines/demo.sh" "$T/demo"
  [ "$status" -eq 0 ] || { echo "$output" | tail -30; false; }
  for m in sam random bitfit; do
    for s in 1 2 3; do [ -s "$T/demo/results/metrics/demo-$m-r0.05-s$s.metrics" ]; done
  done
  grep -q '| sam |' "$T/demo/table.md"
  grep -q '<svg' "$T/demo/table.svg"
  grep -q 'Jaccard' "$T/demo/masks.txt"
  [ -n "$(find "$T/demo/results/joblogs" -type f ! -name "*.args" -size +0)" ]
  rm -rf "$T"
}
