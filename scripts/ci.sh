#!/usr/bin/env bash
# Everything CI checks (.ci/run and the release workflow call this), on a fresh Debian bookworm
# machine: scripts/test.sh with every stage: install deps, build, every CTest suite, then lint
# (clang-format, clang-tidy), ASan+UBSan, TSan and the fuzzers; each stage's wall time is
# printed at the end. Arguments go to the first ctest. The README's quicker command,
# `bash scripts/test.sh`, runs the first stage only.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGES="test lint asan tsan fuzz" exec bash scripts/test.sh "$@"
