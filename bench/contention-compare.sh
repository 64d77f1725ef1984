#!/usr/bin/env bash
# Side-by-side contention figures of two (or more) server binaries, e.g. before and after a
# change to how long a hot account row is locked:
#
#   bash bench/contention-compare.sh OLD_SERVER_BINARY NEW_SERVER_BINARY
#
# For each binary in turn, on a fresh throwaway PostgreSQL (fixtures and the bench sellers):
# 64 callers submitting and rescinding transfers of ONE seller (contention-hot), then of 64
# sellers (contention-spread), 2 s warm-up and 8 s measured each, two rounds; then the ledger
# audit. The client is this build's zeva-bench. BUILD_DIR as build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
[ $# -ge 1 ] || { echo "usage: $0 SERVER_BINARY..." >&2; exit 2; }
ISSUER=https://bench.invalid/auth/realms/zeva

run_one() {
  local server_bin=$1 work server port
  work=$(mktemp -d)
  server=""
  # shellcheck disable=SC2064
  trap "[ -n \"\$server\" ] && kill \$server 2>/dev/null; bash scripts/pg-throwaway.sh stop '$work/pg' >/dev/null 2>&1; rm -rf '$work'" RETURN
  DATABASE_URL=$(bash scripts/pg-throwaway.sh start "$work/pg")
  "$BUILD_DIR/migrate/zeva-migrate" upgrade head --fixtures >/dev/null 2>&1 --database-url "$DATABASE_URL"
  psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" <<'SQL'
INSERT INTO organizations (name) VALUES ('Bench Hot Seller');
INSERT INTO organizations (name) SELECT 'Bench Spread Seller ' || g FROM generate_series(1, 64) g;
INSERT INTO users (username, organization_id) SELECT 'bench_hot_' || g, o.id
  FROM organizations o, generate_series(1, 64) g WHERE o.name = 'Bench Hot Seller';
INSERT INTO users (username, organization_id) SELECT 'bench_spread_' || g, o.id
  FROM organizations o, generate_series(1, 64) g WHERE o.name = 'Bench Spread Seller ' || g;
INSERT INTO user_roles (username, role)
  SELECT username, r::user_role FROM users, unnest(ARRAY['SIGNING_AUTHORITY', 'ZEVA_USER']) r
  WHERE username LIKE 'bench_hot_%' OR username LIKE 'bench_spread_%';
SQL
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
  for user in test_gov_director test_gov_1 test_vs_2 $(seq -f 'bench_hot_%g' 1 64) \
      $(seq -f 'bench_spread_%g' 1 64); do
    echo "$user $("$BUILD_DIR/tools/zeva-dev-token" --key "$work/key.pem" --issuer "$ISSUER" \
      --audience zeva-app --lifetime-seconds 86400 "$user")"
  done >"$work/tokens"
  port=$((20000 + RANDOM % 40000))
  PORT=$port METRICS_PORT=0 LOG_LEVEL=warn KEYCLOAK_CERTS_URL= DATABASE_URL="$DATABASE_URL" \
    KEYCLOAK_RS256_PUBLIC_KEY="$(openssl pkey -in "$work/key.pem" -pubout)" \
    KEYCLOAK_ISSUER="$ISSUER" KEYCLOAK_AUDIENCE=zeva-app "$server_bin" >"$work/server.log" 2>&1 &
  server=$!
  "$BUILD_DIR/bench/zeva-bench" --target "127.0.0.1:$port" --scenario health --calls 1 \
    --wait-ready-ms 30000 >/dev/null
  for round in 1 2; do
    for scenario in contention-hot contention-spread; do
      ZEVA_BENCH_TOKEN=unused "$BUILD_DIR/bench/zeva-bench" --target "127.0.0.1:$port" \
        --scenario "$scenario" --concurrency 64 --channels 4 --warmup-ms 2000 --duration-ms 8000 \
        --tokens-file "$work/tokens" --label "round $round" |
        python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); print("%-8s %-18s %6.0f calls/s  p50 %6.1f ms  p99 %6.1f ms  errors %d" % (r["label"], r["scenario"], r["calls_per_second"], r["p50_ms"], r["p99_ms"], r["errors"]))'
    done
  done
  "$BUILD_DIR/bench/zeva-bench" audit --database-url "$DATABASE_URL" | tail -n 1
}

for binary in "$@"; do
  echo "== $binary"
  run_one "$binary"
done
