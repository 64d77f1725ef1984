#!/usr/bin/env bash
# One command for the whole benchmark (see docs/performance.md):
#
#   bash bench/run.sh            full run (a few minutes)
#   bash bench/run.sh --quick    every scenario, briefly (seconds): checks the machinery
#   bash bench/run.sh --reads    only the read ratios (health, organization, list-models,
#                                balances and list-models with the read cache on, then off), full length;
#                                writes to bench/results/reads/ unless BENCH_OUT is set
#   bash bench/run.sh --methods  one scenario per call family (CONCURRENCY callers over CHANNELS
#                                channels), full length; writes to bench/results/methods/ unless
#                                BENCH_OUT is set (bench/compare-builds.sh runs it for two builds)
#
# Builds, starts a throwaway PostgreSQL, migrates it with the fixtures, fills it (SQL
# generate_series), starts the server with LOG_LEVEL=warn (one info line per call would
# otherwise measure the logger), signs tokens with a key made for this run, runs every
# scenario with zeva-bench, and writes bench/results/results.{md,json}, concurrency.png and
# credit-concurrency.png.
# The credit scenarios (ledger reads at LEDGER_SIZES entries, issuance, transfer lifecycles,
# one hot seller against 64 spread ones) run the ledger audit (zeva-bench audit) while they
# write and after: one violation fails the run. PostgreSQL runs with pg_stat_statements, so
# the "roundtrips" runs count the statements (round trips) each call costs.
# Settings (environment): BUILD_DIR, BENCH_OUT, CONCURRENCY, CHANNELS, DURATION_MS,
# WARMUP_MS, SWEEP, CREDIT_SWEEP, STREAM_SIZES, STREAM_CALLS, LEDGER_SIZES, CONTENTION,
# SKIP_BUILD=1, SERVER_FLAGS, BENCH_BIN (the zeva-bench client; default BUILD_DIR's).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  --quick) mode=quick ;;
  --reads) mode=reads ;;
  --methods) mode=methods ;;
  "") ;;
  *) echo "usage: $0 [--quick | --reads | --methods]" >&2; exit 2 ;;
esac
if [ "$mode" = reads ] || [ "$mode" = methods ]; then
  : "${STREAM_SIZES:=1000}" "${LEDGER_SIZES:=1000}" "${BENCH_OUT:=bench/results/$mode}"
fi
if [ "$mode" = quick ]; then
  : "${DURATION_MS:=300}" "${WARMUP_MS:=100}" "${STREAM_SIZES:=1000 100000}" "${STREAM_CALLS:=1}"
  : "${LEDGER_SIZES:=1000 100000}" "${ROUND_TRIP_CALLS:=20}"
else
  : "${DURATION_MS:=10000}" "${WARMUP_MS:=2000}" "${STREAM_SIZES:=1000 100000 1000000}" "${STREAM_CALLS:=3}"
  : "${LEDGER_SIZES:=1000 1000000}" "${ROUND_TRIP_CALLS:=200}"
fi
: "${CONCURRENCY:=16}" "${CHANNELS:=4}" "${SWEEP:=1 4 16 64 256}" "${CONTENTION:=64}"
: "${CREDIT_SWEEP:=1 4 16 64}"
SERVER_FLAGS=${SERVER_FLAGS:-}
stream_token=""
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-bench/results}
SWEEP_READ=model-details
SWEEP_WRITE=create-model
ISSUER=https://bench.invalid/auth/realms/zeva
AUDIENCE=zeva-app

[ "${SKIP_BUILD:-0}" = 1 ] || bash scripts/build.sh
bench_bin=${BENCH_BIN:-$BUILD_DIR/bench/zeva-bench}
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
DATABASE_URL=$(PG_EXTRA_OPTIONS="-c shared_preload_libraries=pg_stat_statements" \
  bash scripts/pg-throwaway.sh start "$work/pg")
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
  cat <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- The credit scenarios' sellers: 64 users of one hot seller, one user each of 64 others.
INSERT INTO organizations (name) VALUES ('Bench Hot Seller'), ('Bench Issuer');
INSERT INTO organizations (name) SELECT 'Bench Spread Seller ' || g FROM generate_series(1, 64) g;
INSERT INTO users (username, organization_id)
  SELECT 'bench_hot_' || g, o.id FROM organizations o, generate_series(1, 64) g
  WHERE o.name = 'Bench Hot Seller';
INSERT INTO users (username, organization_id)
  SELECT 'bench_spread_' || g, o.id FROM organizations o, generate_series(1, 64) g
  WHERE o.name = 'Bench Spread Seller ' || g;
INSERT INTO user_roles (username, role)
  SELECT username, r::user_role FROM users, unnest(ARRAY['SIGNING_AUTHORITY', 'ZEVA_USER']) r
  WHERE username LIKE 'bench_hot_%' OR username LIKE 'bench_spread_%';
INSERT INTO vehicles (organization_id, type, make, model, "trim", range, credits)
  SELECT id, 'BEV', 'Bench', 'Issue', 'bench', 300, 1.00 FROM organizations
  WHERE name = 'Bench Issuer';
SQL
  # bench_ledger_N: a supplier with N ledger entries, loaded in bulk like an old ledger
  # (balanced journals, each with its delivered outbox event; triggers off for the load).
  for n in $LEDGER_SIZES; do
    cat <<SQL
INSERT INTO organizations (name) VALUES ('Bench Ledger $n');
INSERT INTO users (username, organization_id)
  SELECT 'bench_ledger_$n', id FROM organizations WHERE name = 'Bench Ledger $n';
INSERT INTO user_roles (username, role) VALUES ('bench_ledger_$n', 'ZEVA_USER');
BEGIN;
SET LOCAL session_replication_role = replica;
WITH o AS (SELECT id FROM organizations WHERE name = 'Bench Ledger $n'),
  gov AS (SELECT id FROM organizations WHERE organization_type = 'GOVERNMENT' LIMIT 1),
  j AS (INSERT INTO credit_journals (kind, reference, posted_by, issued_to)
        SELECT 'ISSUANCE', 'bulk/' || g, 'bench', o.id FROM o, generate_series(1, $n) g
        RETURNING id, issued_to),
  e AS (INSERT INTO credit_ledger_entries (journal_id, organization_id, model_year,
          credit_class, amount)
        SELECT id, issued_to, 2021, 'A'::credit_class, 1 FROM j
        UNION ALL SELECT j.id, gov.id, 2021, 'A', -1 FROM j, gov)
INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, recipients,
    published_at, mailed_at)
  SELECT 'credits.journal.issuance', 'bench', id, ARRAY[issued_to], '{}', now(), now() FROM j;
INSERT INTO credit_accounts (organization_id, model_year, credit_class, posted)
  SELECT id, 2021, 'A', $n FROM organizations WHERE name = 'Bench Ledger $n';
COMMIT;
SQL
  done
  echo "VACUUM ANALYZE;"
} | psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null
issue_organization=$(psql -tA "$DATABASE_URL" -c "SELECT id FROM organizations WHERE name = 'Bench Issuer'")
issue_vehicle=$(psql -tA "$DATABASE_URL" -c "SELECT v.id FROM vehicles v JOIN organizations o ON o.id = v.organization_id WHERE o.name = 'Bench Issuer'")

# A key pair for this run; the server gets the public half as its fixed key.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
KEYCLOAK_RS256_PUBLIC_KEY=$(openssl pkey -in "$work/key.pem" -pubout)
token() {
  "$BUILD_DIR/tools/zeva-dev-token" --key "$work/key.pem" --issuer "$ISSUER" \
    --audience "$AUDIENCE" --lifetime-seconds 86400 "$1"
}
reader_token=$(token test_vs_1)
writer_token=$(token bench_writer)
# The credit scenarios' users (--tokens-file).
tokens_file="$work/tokens"
for user in test_gov_director test_gov_1 test_vs_2 $(seq -f 'bench_hot_%g' 1 64) \
    $(seq -f 'bench_spread_%g' 1 64); do
  echo "$user $(token "$user")"
done >"$tokens_file"
ledger_small=${LEDGER_SIZES%% *}
ledger_large=${LEDGER_SIZES##* }

# A port in 20000..59999 that nothing listens on now (other tests may run beside us).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (: <>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && [ "$p" != "${1:-}" ]; then
      echo "$p"
      return
    fi
  done
}

start_server() {
  local attempt
  # A port can still be taken between the check and the bind: a server that exits at once
  # is started again on other ports.
  for attempt in 1 2 3; do
    port=$(free_port)
    metrics_port=$(free_port "$port")
    # shellcheck disable=SC2086
    env PORT="$port" METRICS_PORT="$metrics_port" LOG_LEVEL=warn KEYCLOAK_CERTS_URL= \
      KEYCLOAK_RS256_PUBLIC_KEY="$KEYCLOAK_RS256_PUBLIC_KEY" KEYCLOAK_ISSUER="$ISSUER" \
      KEYCLOAK_AUDIENCE="$AUDIENCE" "$server_bin" $SERVER_FLAGS >>"$work/server.log" 2>&1 &
    server=$!
    sleep 0.5
    kill -0 "$server" 2>/dev/null && break
    wait "$server" 2>/dev/null || true
    server=""
    echo "bench: server start $attempt failed (port taken?), trying other ports" >&2
  done
  if [ -z "$server" ] || ! "$bench_bin" --target "127.0.0.1:$port" --scenario health --calls 1 \
      --wait-ready-ms 30000 >/dev/null || ! kill -0 "$server" 2>/dev/null; then
    echo "bench: the server did not come up; its log:" >&2; tail -n 30 "$work/server.log" >&2
    exit 1
  fi
}

results="$work/results.jsonl"
: >"$results"
# audit WHEN: the ledger and outbox invariants; any violation ends the run.
audit() {
  if ! "$bench_bin" audit --database-url "$DATABASE_URL" >"$work/audit.log" 2>&1; then
    echo "bench: ledger audit failed $1:" >&2; cat "$work/audit.log" >&2
    exit 1
  fi
}
# write_bench LABEL SCENARIO [options...]: a write scenario, audited every second while it
# runs and once after.
write_bench() {
  local label=$1 scenario=$2
  bench "$label" "$scenario" "${@:3}" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    audit "during $scenario"
    sleep 1
  done
  wait "$pid"
  audit "after $scenario"
}
# bench LABEL SCENARIO [zeva-bench options...]: one result line, progress on stderr.
bench() {
  local label=$1 scenario=$2
  shift 2
  echo "bench: $label $scenario $*" >&2
  ZEVA_BENCH_TOKEN=${stream_token:-$reader_token} ZEVA_BENCH_WRITER_TOKEN=$writer_token \
    ZEVA_BENCH_TOKENS_FILE="$tokens_file" "$bench_bin" --target "127.0.0.1:$port" --label "$label" --scenario "$scenario" \
    --warmup-ms "$WARMUP_MS" --duration-ms "$DURATION_MS" --server-pid "$server" "$@" >>"$results"
}

# short_report FACTS...: results.{md,json} of --reads or --methods, printed.
short_report() {
  mkdir -p "$OUT"
  "$bench_bin" report --results "$results" --out-dir "$OUT" "mode=$mode" \
    "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "cores (nproc)=$(nproc)" "callers=$CONCURRENCY over $CHANNELS channels" \
    "window=${WARMUP_MS} ms warm-up, ${DURATION_MS} ms measured" "$@"
  cat "$OUT/results.md"
}

start_server
if [ "$mode" = methods ]; then
  # One scenario per call family, the same callers each, one server: the figures to compare
  # between two builds of the server (bench/compare-builds.sh). Labels as in the full run.
  for scenario in health organization model-details list-models transactions create-model \
      update-model current-user unread-notifications compliance-ratios; do
    bench scenarios "$scenario" --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  done
  stream_token=$(token "bench_ledger_$ledger_small")
  for scenario in balances ledger-entries; do
    bench "ledger-$ledger_small" "$scenario" --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  done
  stream_token=""
  write_bench writes issue-credits --concurrency "$CONCURRENCY" --channels "$CHANNELS" \
    --issue-organization-id "$issue_organization" --issue-vehicle-id "$issue_vehicle"
  write_bench writes transfer-lifecycle --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  stop_server
  short_report "build=$(realpath "$BUILD_DIR")" \
    "load average (1, 5, 15 min) at the end=$(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
if [ "$mode" = reads ]; then
  # The read ratios, side by side in one run, and GetBalances without its cache.
  for scenario in health organization list-models; do
    bench scenarios "$scenario" --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  done
  stream_token=$(token "bench_ledger_$ledger_small")
  bench "ledger-$ledger_small" balances --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  stop_server
  SERVER_FLAGS="$SERVER_FLAGS --read-cache=false" start_server
  bench "read-cache-off" balances --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  stream_token=""
  bench "read-cache-off" list-models --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  stop_server
  short_report
  exit 0
fi
for scenario in health organization model-details list-models transactions create-model \
    update-model mixed; do
  bench scenarios "$scenario" --concurrency "$CONCURRENCY" --channels "$CHANNELS"
done
# The credit API: reads against a small and a large ledger, writes, and contention.
for n in $LEDGER_SIZES; do
  stream_token=$(token "bench_ledger_$n")
  bench "ledger-$n" balances --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  if [ "$n" = "$ledger_small" ]; then
    bench "ledger-$n" ledger-entries --concurrency "$CONCURRENCY" --channels "$CHANNELS"
  else
    bench "ledger-$n" ledger-entries --concurrency 1 --calls "$STREAM_CALLS"
  fi
  stream_token=""
done
write_bench writes issue-credits --concurrency "$CONCURRENCY" --channels "$CHANNELS" \
  --issue-organization-id "$issue_organization" --issue-vehicle-id "$issue_vehicle"
write_bench writes transfer-lifecycle --concurrency "$CONCURRENCY" --channels "$CHANNELS"
for scenario in contention-hot contention-spread; do
  write_bench contention "$scenario" --concurrency "$CONTENTION" --channels "$CHANNELS"
done
# Statements (round trips) per call: one caller, a fixed number of calls, no warm-up.
for scenario in health organization list-models balances issue-credits contention-spread; do
  [ "$scenario" = balances ] && stream_token=$(token "bench_ledger_$ledger_small")
  write_bench roundtrips "$scenario" --concurrency 1 --calls "$ROUND_TRIP_CALLS" \
    --database-url "$DATABASE_URL" --issue-organization-id "$issue_organization" \
    --issue-vehicle-id "$issue_vehicle"
  stream_token=""
done

for c in $CREDIT_SWEEP; do
  stream_token=$(token "bench_ledger_$ledger_small")
  bench credit-sweep balances --concurrency "$c" --channels "$CHANNELS"
  stream_token=""
  for scenario in contention-spread contention-hot; do
    write_bench credit-sweep "$scenario" --concurrency "$c" --channels "$CHANNELS"
  done
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
credit_gp="$PWD/bench/credit_sweep.gp"
(cd "$OUT" && gnuplot "$credit_gp")
rm -f "$OUT"/sweep-*.dat "$OUT"/credit-sweep-*.dat
echo "bench: wrote $OUT/results.md, results.json, concurrency.png, credit-concurrency.png" >&2
cat "$OUT/results.md"
