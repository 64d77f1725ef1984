#!/usr/bin/env bash
# One command for the whole benchmark (see the README, "Performance"):
#
#   bash bench/run.sh            full run (a few minutes)
#   bash bench/run.sh --quick    every scenario, briefly (seconds): checks the machinery
#
# Builds, starts a throwaway PostgreSQL, migrates it with the fixtures, fills it (SQL
# generate_series), starts the server with LOG_LEVEL=warn (one info line per call would
# otherwise measure the logger), signs tokens with a key made for this run, runs every
# scenario with zeva-bench, and writes bench/results/results.{md,json} and concurrency.png.
# Settings (environment): BUILD_DIR, BENCH_OUT, CONCURRENCY, CHANNELS, DURATION_MS,
# WARMUP_MS, SWEEP, STREAM_SIZES, STREAM_CALLS, SKIP_BUILD=1, SERVER_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  --quick) mode=quick ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then
  : "${DURATION_MS:=300}" "${WARMUP_MS:=100}" "${STREAM_SIZES:=1000 100000}" "${STREAM_CALLS:=1}"
else
  : "${DURATION_MS:=10000}" "${WARMUP_MS:=2000}" "${STREAM_SIZES:=1000 100000 1000000}" "${STREAM_CALLS:=3}"
fi
: "${CONCURRENCY:=16}" "${CHANNELS:=4}" "${SWEEP:=1 4 16 64 256}"
SERVER_FLAGS=${SERVER_FLAGS:-}
stream_token=""
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-bench/results}
SWEEP_READ=model-details
SWEEP_WRITE=create-model
ISSUER=https://bench.invalid/auth/realms/zeva
AUDIENCE=zeva-app

[ "${SKIP_BUILD:-0}" = 1 ] || bash scripts/build.sh
bench_bin="$BUILD_DIR/bench/zeva-bench"
server_bin="$BUILD_DIR/server/zeva-transaction-service"

work=$(mktemp -d)
server=""
cleanup() {
  stop_server
  bash scripts/pg-throwaway.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
stop_server() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: PostgreSQL, migration and data" >&2
DATABASE_URL=$(bash scripts/pg-throwaway.sh start "$work/pg")
export DATABASE_URL
"$BUILD_DIR/migrate/zeva-migrate" upgrade head --fixtures >"$work/migrate.log" 2>&1 ||
  { cat "$work/migrate.log" >&2; exit 1; }

# test_vs_1 reads (100 transactions, the fixture models); bench_writer writes (so that its
# new models do not grow test_vs_1's list); bench_stream_N owns N transactions.
{
  cat <<'SQL'
INSERT INTO organizations (name) VALUES ('Bench Writer');
INSERT INTO users (username, organization_id)
  SELECT 'bench_writer', id FROM organizations WHERE name = 'Bench Writer';
INSERT INTO transactions (type, credits, transaction_amount, organization_id)
  SELECT (enum_range(NULL::v1transactiontypes))[1 + g % 4], 1 + g % 500, 100 * g, o.id
  FROM organizations o, generate_series(1, 97) g WHERE o.name = 'Test Vehicle Supplier 1';
SQL
  for n in $STREAM_SIZES; do
    cat <<SQL
INSERT INTO organizations (name) VALUES ('Bench Stream $n');
INSERT INTO users (username, organization_id)
  SELECT 'bench_stream_$n', id FROM organizations WHERE name = 'Bench Stream $n';
INSERT INTO transactions (type, credits, transaction_amount, organization_id)
  SELECT (enum_range(NULL::v1transactiontypes))[1 + g % 4], 1 + g % 500, 100 * g, o.id
  FROM organizations o, generate_series(1, $n) g WHERE o.name = 'Bench Stream $n';
SQL
  done
  echo "VACUUM ANALYZE;"
} | psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null

# A key pair for this run; the server gets the public half as its fixed key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
KEYCLOAK_RS256_PUBLIC_KEY=$(openssl pkey -in "$work/key.pem" -pubout)
token() {
  "$BUILD_DIR/tools/zeva-dev-token" --key "$work/key.pem" --issuer "$ISSUER" \
    --audience "$AUDIENCE" --lifetime-seconds 86400 "$1"
}
reader_token=$(token test_vs_1)
writer_token=$(token bench_writer)

start_server() {
  port=$((20000 + RANDOM % 40000))
  # shellcheck disable=SC2086
  env PORT="$port" METRICS_PORT=$((port + 1)) LOG_LEVEL=warn KEYCLOAK_CERTS_URL= \
    KEYCLOAK_RS256_PUBLIC_KEY="$KEYCLOAK_RS256_PUBLIC_KEY" KEYCLOAK_ISSUER="$ISSUER" \
    KEYCLOAK_AUDIENCE="$AUDIENCE" "$server_bin" $SERVER_FLAGS >>"$work/server.log" 2>&1 &
  server=$!
  if ! "$bench_bin" --target "127.0.0.1:$port" --scenario health --calls 1 \
      --wait-ready-ms 30000 >/dev/null || ! kill -0 "$server" 2>/dev/null; then
    echo "bench: the server did not come up; its log:" >&2; tail -n 30 "$work/server.log" >&2
    exit 1
  fi
}

results="$work/results.jsonl"
: >"$results"
# bench LABEL SCENARIO [zeva-bench options...]: one result line, progress on stderr.
bench() {
  local label=$1 scenario=$2
  shift 2
  echo "bench: $label $scenario $*" >&2
  ZEVA_BENCH_TOKEN=${stream_token:-$reader_token} ZEVA_BENCH_WRITER_TOKEN=$writer_token \
    "$bench_bin" --target "127.0.0.1:$port" --label "$label" --scenario "$scenario" \
    --warmup-ms "$WARMUP_MS" --duration-ms "$DURATION_MS" --server-pid "$server" "$@" >>"$results"
}

start_server
for scenario in health organization model-details list-models transactions create-model \
    update-model mixed; do
  bench scenarios "$scenario" --concurrency "$CONCURRENCY" --channels "$CHANNELS"
done
for c in $SWEEP; do
  for scenario in $SWEEP_READ $SWEEP_WRITE; do
    bench sweep "$scenario" --concurrency "$c" --channels "$CHANNELS"
  done
done
stop_server

# A fresh server per size, so that its peak resident memory belongs to that size alone.
for n in $STREAM_SIZES; do
  start_server
  stream_token=$(token "bench_stream_$n")
  bench stream transactions --concurrency 1 --calls "$STREAM_CALLS"
  stream_token=""
  stop_server
done

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
mkdir -p "$OUT"
"$bench_bin" report --results "$results" --out-dir "$OUT" \
  "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "commit=$commit" "mode=$mode" \
  "cores (nproc)=$(nproc)" "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" \
  "kernel=$(uname -r)" "build type=$build_type" \
  "postgresql=$(psql -tA "$DATABASE_URL" -c 'SHOW server_version')" \
  "callers (scenarios)=$CONCURRENCY over $CHANNELS channels" \
  "window=${WARMUP_MS} ms warm-up, ${DURATION_MS} ms measured" \
  "server=LOG_LEVEL=warn, flags: ${SERVER_FLAGS:-(defaults)}" \
  "client and server share the machine=yes"
gp="$PWD/bench/concurrency.gp"
(cd "$OUT" && gnuplot -e "read='$SWEEP_READ';write='$SWEEP_WRITE'" "$gp")
rm -f "$OUT"/sweep-*.dat
echo "bench: wrote $OUT/results.md, results.json, concurrency.png" >&2
cat "$OUT/results.md"
