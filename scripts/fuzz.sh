#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into build-fuzz, then
# runs each for FUZZ_SECONDS (default 30) from its seed corpus in tests/fuzz/corpus/NAME, with
# its dictionary tests/fuzz/NAME.dict when there is one. Fails on any crash, leak, timeout or
# broken invariant; the input that did it is left in build-fuzz/artifacts/ (turn it into a
# regression test in tests/unit). Arguments: fuzzer names (default: all). JOBS as build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
export BUILD_DIR
TARGET=zeva_fuzzers bash scripts/build.sh -DCMAKE_CXX_COMPILER=clang++ -DZEVA_FUZZ=ON \
  -DZEVA_SANITIZE=address,undefined -DZEVA_WERROR=OFF -DBUILD_TESTING=OFF

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for seeds in tests/fuzz/corpus/*/; do names+=("$(basename "$seeds")"); done
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD_DIR/artifacts"
failed=()
for name in "${names[@]}"; do
  # New inputs go to the first corpus folder, so the repository's seeds stay as committed.
  work="$BUILD_DIR/corpus/$name"
  log="$BUILD_DIR/fuzz-$name.log"
  mkdir -p "$work"
  args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$BUILD_DIR/artifacts/$name-")
  if [ -f "tests/fuzz/$name.dict" ]; then args+=(-dict="tests/fuzz/$name.dict"); fi
  if "$BUILD_DIR/tests/fuzz/fuzz_$name" "${args[@]}" "$work" "tests/fuzz/corpus/$name" \
    >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $name ok, ${runs:-?} executions in ${FUZZ_SECONDS} s"
  else
    echo "fuzz: $name FAILED (log $log):"
    grep -E -A 30 '^==[0-9]+==|runtime error|deadly signal' "$log" | head -60 || tail -40 "$log"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}; inputs in $BUILD_DIR/artifacts/"
  exit 1
fi
