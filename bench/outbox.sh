#!/usr/bin/env bash
# The outbox benchmark (see docs/performance.md):
#
#   bash bench/outbox.sh           full run (a minute or two)
#   bash bench/outbox.sh --quick   small counts, short fault runs: checks the machinery
#
# Builds, starts a throwaway PostgreSQL (migrated with the fixtures), a throwaway RabbitMQ and
# the server (LOG_LEVEL=warn), signs a director's token with a key made for this run, and runs
# zeva-outbox-bench: 1 then 2 workers draining committed events, then commit-to-notification
# latency with two workers while 1, 4, 16 sellers move transfers through the server, then
# the fault runs: PostgreSQL restarted, RabbitMQ stopped, a worker killed by SIGKILL, each in
# the middle of a transfer load. Writes bench/results/outbox.{md,json} and outbox-latency.png.
# Fails when an event is lost or the ledger audit finds a violation.
# Settings (environment): BUILD_DIR, BENCH_OUT, THROUGHPUT_EVENTS, LATENCY_EVENTS, LOADS,
# FAULTS, FAULT_SECONDS, FAULT_CALLERS, SKIP_BUILD=1; the workers also take OUTBOX_CLAIM_LEASE_MS
# and the broker and SMTP timeouts from it (--quick shortens them).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  --quick) mode=quick ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then
  : "${THROUGHPUT_EVENTS:=200}" "${LATENCY_EVENTS:=50}" "${LOADS:=1 4}" "${FAULT_SECONDS:=6}"
  : "${FAULT_CALLERS:=4}"
  # A killed worker's events are another's after its lease: 5 s, not 30 (the timeouts a
  # lease must exceed shortened with it, as in the integration tests).
  export OUTBOX_CLAIM_LEASE_MS=${OUTBOX_CLAIM_LEASE_MS:-5000}
  export BROKER_CONNECT_TIMEOUT_MS=${BROKER_CONNECT_TIMEOUT_MS:-1000}
  export BROKER_CONFIRM_TIMEOUT_MS=${BROKER_CONFIRM_TIMEOUT_MS:-2000}
  export SMTP_TIMEOUT_MS=${SMTP_TIMEOUT_MS:-2000}
else
  : "${THROUGHPUT_EVENTS:=20000}" "${LATENCY_EVENTS:=1000}" "${LOADS:=1 4 16}" "${FAULT_SECONDS:=20}"
  : "${FAULT_CALLERS:=8}"
fi
FAULTS=${FAULTS-postgres-restart rabbitmq-stop worker-kill}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-bench/results}
ISSUER=https://bench.invalid/auth/realms/zeva
AUDIENCE=zeva-app

[ "${SKIP_BUILD:-0}" = 1 ] || bash scripts/build.sh
server_bin="$BUILD_DIR/server/zeva-transaction-service"

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  bash scripts/rabbitmq-throwaway.sh stop "$work/rmq" >/dev/null 2>&1 || true
  bash scripts/pg-throwaway.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "outbox-bench: PostgreSQL, RabbitMQ, migration" >&2
# track_commit_timestamp: latency is measured from each event's commit.
DATABASE_URL=$(PG_EXTRA_OPTIONS="-c track_commit_timestamp=on" \
  bash scripts/pg-throwaway.sh start "$work/pg")
RABBITMQ_URL=$(bash scripts/rabbitmq-throwaway.sh start "$work/rmq")
export DATABASE_URL RABBITMQ_URL
"$BUILD_DIR/migrate/zeva-migrate" upgrade head --fixtures >"$work/migrate.log" 2>&1 ||
  { cat "$work/migrate.log" >&2; exit 1; }

# The sellers of the latency and fault runs' transfer load.
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<'SQL'
INSERT INTO organizations (name) SELECT 'Bench Spread Seller ' || g FROM generate_series(1, 16) g;
INSERT INTO users (username, organization_id)
  SELECT 'bench_spread_' || g, o.id FROM organizations o, generate_series(1, 16) g
  WHERE o.name = 'Bench Spread Seller ' || g;
INSERT INTO user_roles (username, role)
  SELECT username, r::user_role FROM users, unnest(ARRAY['SIGNING_AUTHORITY', 'ZEVA_USER']) r
  WHERE username LIKE 'bench_spread_%';
SQL

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
KEYCLOAK_RS256_PUBLIC_KEY=$(openssl pkey -in "$work/key.pem" -pubout)
for user in test_gov_director test_vs_2 $(seq -f 'bench_spread_%g' 1 16); do
  echo "$user $("$BUILD_DIR/tools/zeva-dev-token" --key "$work/key.pem" --issuer "$ISSUER" \
    --audience "$AUDIENCE" --lifetime-seconds 86400 "$user")"
done >"$work/tokens"

# A gRPC port nothing listens on now (other tests may run beside us).
port=$((20000 + RANDOM % 40000))
while (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((20000 + RANDOM % 40000)); done
env PORT="$port" METRICS_PORT=0 LOG_LEVEL=warn KEYCLOAK_CERTS_URL= \
  KEYCLOAK_RS256_PUBLIC_KEY="$KEYCLOAK_RS256_PUBLIC_KEY" KEYCLOAK_ISSUER="$ISSUER" \
  KEYCLOAK_AUDIENCE="$AUDIENCE" "$server_bin" --db-pool-caller-share-percent=100 \
  >>"$work/server.log" 2>&1 &
server=$!
if ! "$BUILD_DIR/bench/zeva-bench" --target "127.0.0.1:$port" --scenario health --calls 1 \
    --wait-ready-ms 30000 >/dev/null || ! kill -0 "$server" 2>/dev/null; then
  echo "outbox-bench: the server did not come up; its log:" >&2; tail -n 30 "$work/server.log" >&2
  exit 1
fi

mkdir -p "$OUT"
"$BUILD_DIR/bench/zeva-outbox-bench" --target "127.0.0.1:$port" \
  --worker-binary "$BUILD_DIR/worker/zeva-worker" --throughput-events "$THROUGHPUT_EVENTS" \
  --latency-events "$LATENCY_EVENTS" --loads "$LOADS" --out-dir "$OUT" --faults "$FAULTS" \
  --tokens-file "$work/tokens" --pg-dir "$work/pg" --rabbitmq-dir "$work/rmq" \
  --fault-seconds "$FAULT_SECONDS" --fault-callers "$FAULT_CALLERS"
{
  echo
  echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1);" \
    "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); mode $mode;" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ); PostgreSQL, RabbitMQ, server, workers and client on one machine."
} >>"$OUT/outbox.md"
gp="$PWD/bench/outbox_latency.gp"
(cd "$OUT" && gnuplot "$gp")
rm -f "$OUT/outbox-latency.dat"
echo "outbox-bench: wrote $OUT/outbox.md, outbox.json, outbox-latency.png" >&2
