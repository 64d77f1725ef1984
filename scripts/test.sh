#!/usr/bin/env bash
# The README's test command, on a fresh Debian bookworm machine: installs the dependencies,
# builds, and runs every CTest suite, unit and integration (each integration group starts its
# own PostgreSQL): stage `test`, a few minutes. scripts/ci.sh (what CI runs) adds the stages
#   lint   clang-format and clang-tidy (scripts/lint.sh)
#   asan   the CTest suite but [bench] under ASan+UBSan (scripts/sanitize.sh asan, build-asan/)
#   tsan   the tests of concurrent code under TSan (scripts/sanitize.sh tsan, build-tsan/)
#   fuzz   every libFuzzer target for FUZZ_SECONDS, default 30 (scripts/fuzz.sh, build-fuzz/)
# STAGES chooses (default "test"; scripts/ci.sh: "test lint asan tsan fuzz", all); arguments go
# to the first ctest.
# Each stage's wall time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGES=${STAGES:-test}
bash scripts/install-deps.sh

timings=()
run_stage() {  # NAME COMMAND...
  local name=$1 start=$SECONDS
  shift
  echo "=== test.sh: $name"
  "$@"
  timings+=("$(printf '%-6s %5d s' "$name" $((SECONDS - start)))")
}

normal_suite() {
  bash scripts/build.sh
  (cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j 2 "$@")
}

for stage in $STAGES; do
  case "$stage" in
    test) run_stage test normal_suite "$@" ;;
    lint) run_stage lint bash scripts/lint.sh ;;
    asan) run_stage asan bash scripts/sanitize.sh asan ;;
    tsan) run_stage tsan bash scripts/sanitize.sh tsan ;;
    fuzz) run_stage fuzz bash scripts/fuzz.sh ;;
    *) echo "test.sh: unknown stage '$stage'" >&2; exit 2 ;;
  esac
done
echo "=== test.sh: all passed; wall time per stage:"
printf '  %s\n' "${timings[@]}"
echo "  total  $SECONDS s"
