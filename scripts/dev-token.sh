#!/usr/bin/env bash
# Prints a token for USER (default test_vs_1) signed with the dev key that scripts/run.sh
# configures; extra arguments go to zeva-dev-token (see its --help).
#   grpcurl -plaintext -H "authorization: Bearer $(scripts/dev-token.sh test_vs_1)" ...
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ $# -eq 0 ]; then set -- test_vs_1; fi
exec "$BUILD_DIR/tools/zeva-dev-token" "$@"
