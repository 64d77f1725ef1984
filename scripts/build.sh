#!/usr/bin/env bash
# Configures and builds the project with Ninja (and ccache when present) into build/.
# BUILD_DIR, BUILD_TYPE, JOBS (default 2: the machines have two cores) and TARGET (default:
# everything; several targets separated by spaces, e.g. TARGET="zeva-worker zeva-migrate") can
# be set; arguments go to cmake's configure step (e.g. -DZEVA_SANITIZE=thread).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=${JOBS:-2}
# Lets ccache share hits between checkouts in different folders.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@"
targets=()
if [ -n "${TARGET:-}" ]; then
  read -r -a names <<<"$TARGET"
  targets=(--target "${names[@]}")
fi
cmake --build "$BUILD_DIR" -j "$JOBS" "${targets[@]}"
