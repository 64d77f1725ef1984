#!/usr/bin/env bash
# Fails when an include points up (scripts/check-layers.sh, the table in docs/development.md),
# then on any clang-format difference in the tracked C++ files (.clang-format), then runs
# clang-tidy (.clang-tidy) over the project's own .cc files with build/compile_commands.json
# and fails on any warning. FIX=1 reformats the files instead of failing on the format.
# JOBS (default 2) clang-tidy processes; BUILD_DIR as build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

bash scripts/check-layers.sh

mapfile -t sources < <(git ls-files '*.cc' '*.h')
if [ "${FIX:-0}" = "1" ]; then
  clang-format -i "${sources[@]}"
fi
if ! clang-format --dry-run --Werror "${sources[@]}"; then
  echo "lint: clang-format differs (FIX=1 bash scripts/lint.sh reformats)"
  exit 1
fi
echo "lint: clang-format: ${#sources[@]} files clean"

# clang-tidy reads the compile commands and the generated protobuf headers of a build.
BUILD_DIR=$BUILD_DIR bash scripts/build.sh
# The .cc files that build compiles: everything but tests/fuzz (clang-only, build-fuzz).
mapfile -t units < <(git ls-files '*.cc' | while read -r file; do
  if grep -q "\"file\": \"$PWD/$file\"" "$BUILD_DIR/compile_commands.json"; then echo "$file"; fi
done)
if ! printf '%s\n' "${units[@]}" |
  xargs -P "$JOBS" -n 1 clang-tidy -p "$BUILD_DIR" --quiet --warnings-as-errors='*' \
    2> >(grep -v -E '^[0-9]+ warnings? generated\.$' >&2); then
  echo "lint: clang-tidy found problems (above)"
  exit 1
fi
echo "lint: clang-tidy: ${#units[@]} files clean"
