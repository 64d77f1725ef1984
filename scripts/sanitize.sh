#!/usr/bin/env bash
# Sanitizer runs. `asan`: builds build-asan with ZEVA_SANITIZE=address,undefined and runs the
# ctest suite but the benchmark smoke tests (the integration tests start the sanitized server,
# worker and migrate binaries).
# `tsan`: builds build-tsan with ZEVA_SANITIZE=thread and runs the unit and integration tests
# of code that runs on several threads, chosen by Catch2 tag (TSAN_TAGS). No argument: both.
# JOBS as build.sh; ctest arguments may follow `asan --`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests of code that runs on several threads at once. Tag a new one with one of these (or
# add its tag here): Catch2 reads the comma as "or".
TSAN_TAGS=${TSAN_TAGS:-"[pool],[key_store],[call_gate],[blocking_pool],[auth_cache],[change_feed],[read_cache]"}
SUPPRESSIONS="$PWD/tests/sanitizers"
TSAN_BINARIES=(build-tsan/tests/unit_tests build-tsan/tests/integration_tests)

# Sanitizer builds do not stop on warnings: the normal build (scripts/build.sh) has -Werror,
# and the instrumentation makes GCC's flow analysis warn about code it cannot see through.
build_sanitized() {  # DIR SANITIZERS [TARGET]
  BUILD_DIR=$1 TARGET=${3:-} bash scripts/build.sh -DZEVA_SANITIZE="$2" -DZEVA_WERROR=OFF
}

run_asan() {
  build_sanitized build-asan address,undefined
  # A smaller quarantine of freed blocks (default 256 MiB): the memory-bound tests measure the
  # server's resident memory, and a full quarantine would count as growth.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SUPPRESSIONS/lsan.supp:print_suppressions=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # Every group but [bench]: the benchmark scripts' smoke tests (their reports, charts and
  # timing windows) run in the test stage; instrumented, their windows measure the sanitizer,
  # and the server paths they drive are the ones [production] and [outage] run here too.
  (cd build-asan && ctest --output-on-failure -j 2 -E '^integration[.]bench$' "$@")
}

run_tsan() {
  # Both test binaries: the pool's tests are integration tests (they need a PostgreSQL).
  # Only the test files that carry one of the tags are compiled (tests/CMakeLists.txt).
  BUILD_DIR=build-tsan TARGET="unit_tests integration_tests" bash scripts/build.sh \
    -DZEVA_SANITIZE=thread -DZEVA_WERROR=OFF \
    -DZEVA_TSAN_TAGS="$(echo "$TSAN_TAGS" | tr -d '[]' | tr ',' ';')"
  local options="suppressions=$SUPPRESSIONS/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
  export TSAN_OPTIONS=${TSAN_OPTIONS:-$options}
  count_tests() { "$1" --list-test-names-only "$2" | grep -c . || true; }
  # A tag that matches nothing is a warning (the test may live on another branch for now);
  # a selection with no test at all is an error.
  local binary tag total=0 count
  for tag in $(echo "$TSAN_TAGS" | tr ',' ' '); do
    count=0
    for binary in "${TSAN_BINARIES[@]}"; do count=$((count + $(count_tests "$binary" "$tag"))); done
    if [ "$count" -eq 0 ]; then echo "sanitize: warning: no test is tagged $tag"; fi
    total=$((total + count))
  done
  if [ "$total" -eq 0 ]; then
    echo "sanitize: no test matches $TSAN_TAGS"
    exit 1
  fi
  for binary in "${TSAN_BINARIES[@]}"; do
    count=$(count_tests "$binary" "$TSAN_TAGS")
    echo "sanitize: $count test cases of $(basename "$binary") under TSan: $TSAN_TAGS"
    if [ "$count" -gt 0 ]; then "$binary" "$TSAN_TAGS"; fi
  done
}

case "${1:-all}" in
  asan) shift; [ "${1:-}" = "--" ] && shift; run_asan "$@" ;;
  tsan) run_tsan ;;
  all) run_asan && run_tsan ;;
  *) echo "usage: $0 [asan [-- ctest args] | tsan | all]" >&2; exit 2 ;;
esac
