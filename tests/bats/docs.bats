#!/usr/bin/env bats
# The manual: every page renders without a warning and with the glyphs it means.
load helper

@test "every man page renders without groff warnings, no raw non-ASCII input" {
  command -v groff > /dev/null || skip "groff not installed"
  local f out
  for f in "$ROOT"/man/man*/*.[157]; do
    out=$(groff -man -ww -z -Tutf8 "$f" 2>&1)
    [ -z "$out" ] || { echo "$f: $out"; false; }
    ! LC_ALL=C grep -nP '[^\x00-\x7F]' "$f" || { echo "$f: raw non-ASCII (use groff escapes)"; false; }
  done
  # the Fisher reduction is a sum of squares: g² (\(S2), not a final sigma (\(ts)
  run bash -c "LC_ALL=C.UTF-8 groff -man -Tutf8 '$ROOT/man/man1/gradacc.1' | sed 's/\x08.//g'"
  assert_output --regexp "g_t² +\\(Fisher\\)"
}

@test "README and the man pages cite documents that exist in the repository" {
  local f
  # the founding documents live outside the repository; users get docs/ instead
  ! grep -n "PAPER\.md\|DESIGN\.md" "$ROOT/README.md" "$ROOT"/man/man*/*.[157]
  for f in $(grep -ohE 'docs/[a-z-]+\.md' "$ROOT/README.md" "$ROOT"/man/man*/*.[157] | sort -u); do
    [ -s "$ROOT/$f" ] || { echo "cited but missing: $f"; false; }
  done
}
