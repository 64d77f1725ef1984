#!/usr/bin/env bash
# The ICBC import benchmark (docs/icbc.md; acceptance targets of APPLICATIONS.md, "Scale"):
#
#   bash bench/icbc.sh            10^6 rows (about 45 MB)
#   ROWS=100000 bash bench/icbc.sh
#
# Builds, starts a throwaway PostgreSQL (migrated with the fixtures), the server and one
# zeva-worker, generates an extract of ROWS rows, then side by side on that database:
# - the service: StartIcbcImport, 1 MiB chunks, commit, until COMPLETED (zeva-icbc-bench),
#   then the same file again (re-import: nothing changes);
# - psql: `\copy` of the same file into a temporary table, then one INSERT ... ON CONFLICT into
#   an indexed table shaped like icbc_registrations (first load, then the same again);
# and the worker's peak resident memory over its resident memory before the first import.
# Writes bench/results/icbc.md. Settings (environment): BUILD_DIR, BENCH_OUT, ROWS, SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-bench/results}
ISSUER=https://bench.invalid/auth/realms/zeva
AUDIENCE=zeva-app
[ "${SKIP_BUILD:-0}" = 1 ] || bash scripts/build.sh
source bench/server.sh

work=$(mktemp -d)
server="" worker=""
cleanup() {
  for p in $worker $server; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  bash scripts/pg-throwaway.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "icbc-bench: PostgreSQL, migration, $ROWS rows" >&2
DATABASE_URL=$(bash scripts/pg-throwaway.sh start "$work/pg")
export DATABASE_URL
"$BUILD_DIR/migrate/zeva-migrate" upgrade head --fixtures >"$work/migrate.log" 2>&1 ||
  { cat "$work/migrate.log" >&2; exit 1; }
# Rows like ICBC's extract (hybrid and electric flags, fuel type, extra columns); every VIN
# distinct and valid, every row kept.
awk -v rows="$ROWS" 'BEGIN {
  print "VIN,MAKE,MODEL,MODEL_YEAR,HYBRID_VEHICLE_FLAG,ELECTRIC_VEHICLE_FLAG,FUEL_TYPE,COLOUR";
  for (i = 0; i < rows; i++)
    printf "5YJ3E1EA%09d,Tesla,Model %d,%d,N,Y,ELECTRIC,red\n", i, i % 7, 2019 + i % 6;
}' >"$work/extract.csv"
bytes=$(stat -c %s "$work/extract.csv")

bench_server icbc-bench
token=$(bench_token test_gov_1)
env RABBITMQ_URL=amqp://guest:guest@127.0.0.1:1/ HEALTH_PORT=0 METRICS_PORT=0 LOG_LEVEL=info \
  "$BUILD_DIR/worker/zeva-worker" >>"$work/worker.log" 2>&1 &
worker=$!
sleep 1

echo "icbc-bench: the service, first import" >&2
first=$("$BUILD_DIR/bench/zeva-icbc-bench" "$target" "$token" "$work/extract.csv" "$worker")
echo "icbc-bench: the service, the same file again" >&2
again=$("$BUILD_DIR/bench/zeva-icbc-bench" "$target" "$token" "$work/extract.csv" "$worker")

echo "icbc-bench: psql, \\copy and INSERT ... ON CONFLICT" >&2
psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c \
  "CREATE TABLE bench_registrations (vin varchar(17) PRIMARY KEY, make text NOT NULL,
     model text NOT NULL, model_year integer NOT NULL, import_id bigint NOT NULL)"
psql_load() {
  local start end
  start=$(date +%s.%N)
  psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" >/dev/null <<SQL
CREATE TEMPORARY TABLE staging (vin text, make text, model text, model_year text, hybrid text,
  electric text, fuel text, colour text);
\\copy staging FROM '$work/extract.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO bench_registrations AS r (vin, make, model, model_year, import_id)
  SELECT DISTINCT ON (upper(vin)) upper(vin), trim(make), trim(model), model_year::int, 1
  FROM staging ORDER BY upper(vin)
  ON CONFLICT (vin) DO UPDATE SET make = EXCLUDED.make, model = EXCLUDED.model,
    model_year = EXCLUDED.model_year, import_id = EXCLUDED.import_id
  WHERE (r.make, r.model, r.model_year) IS DISTINCT FROM
    (EXCLUDED.make, EXCLUDED.model, EXCLUDED.model_year);
SQL
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }' 
}
psql_first=$(psql_load)
psql_again=$(psql_load)

field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p" <<<"$2"; }
service_first=$(field first_chunk_to_completed_seconds "$first")
service_again=$(field first_chunk_to_completed_seconds "$again")
rss_before=$(field worker_rss_before_kib "$first")
rss_peak=$(field worker_peak_rss_kib "$again")
mkdir -p "$OUT"
{
  echo "# ICBC import: the service against psql, side by side"
  echo
  echo "$ROWS rows, $bytes bytes, 1 MiB chunks; one PostgreSQL, server, worker and client."
  echo
  echo "| run | service: first chunk to COMPLETED (s) | psql: \\copy + INSERT ... ON CONFLICT (s) | ratio |"
  echo "|---|---|---|---|"
  printf '| first import | %.2f | %.2f | %.2f |\n' "$service_first" "$psql_first" \
    "$(awk -v a="$service_first" -v b="$psql_first" 'BEGIN { print a / b }')"
  printf '| same file again | %.2f | %.2f | %.2f |\n' "$service_again" "$psql_again" \
    "$(awk -v a="$service_again" -v b="$psql_again" 'BEGIN { print a / b }')"
  echo
  echo "Worker resident memory: $rss_before KiB before the first import, peak $rss_peak KiB" \
    "after both (growth $(((rss_peak - rss_before) / 1024)) MiB)."
  echo
  echo "Service runs (JSON): first \`$first\`; again \`$again\`."
  echo
  echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1);" \
    "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(date -u +%Y-%m-%dT%H:%M:%SZ)."
} >"$OUT/icbc.md"
cat "$OUT/icbc.md"
