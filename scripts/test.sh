#!/usr/bin/env bash
# The whole test suite on a fresh Debian bookworm machine: installs the dependencies,
# builds, and runs every CTest suite (each integration group starts its own PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j 2 "$@"
