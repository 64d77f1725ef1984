#!/usr/bin/env bash
# The credit application benchmark (docs/applications.md; acceptance targets of
# APPLICATIONS.md, "Scale"):
#
#   bash bench/applications.sh              10^6 registrations, 20,000 records
#   REGISTRATIONS=100000 RECORDS=2000 bash bench/applications.sh
#
# Builds, starts a throwaway PostgreSQL (migrated with the fixtures) and the server, then:
# - set-up, not measured: REGISTRATIONS registrations loaded with psql's \copy as one COMPLETED
#   import (the import path itself is bench/icbc.sh's), then ANALYZE, as autovacuum would;
# - the service (zeva-application-bench, generated gRPC client): a supplier files RECORDS
#   records in AddSalesRecords calls of BATCH, and SUBMITs;
# - CHECK side by side, ROUNDS times: the service's CHECK (an analyst, one call), then psql
#   updating the same records from one join against the same registrations; the ratio of the
#   medians;
# - RECOMMEND_APPROVAL and the VALIDATE of every record, included, in one transaction.
# Writes bench/results/applications.md. Settings (environment): BUILD_DIR, BENCH_OUT,
# REGISTRATIONS, RECORDS, BATCH, ROUNDS, SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRATIONS=${REGISTRATIONS:-1000000}
RECORDS=${RECORDS:-20000}
BATCH=${BATCH:-1000}
ROUNDS=${ROUNDS:-3}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-bench/results}
ISSUER=https://bench.invalid/auth/realms/zeva
AUDIENCE=zeva-app
BENCH=$BUILD_DIR/bench/zeva-application-bench
[ "${SKIP_BUILD:-0}" = 1 ] || TARGET="zeva-transaction-service zeva-migrate zeva-dev-token \
zeva-bench zeva-application-bench" bash scripts/build.sh
source bench/server.sh

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d)
server=""
cleanup() {
  [ -z "$server" ] || { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  bash scripts/pg-throwaway.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
field() { sed -n "s/.*\"$1\": \"\{0,1\}\([0-9A-Z_.]*\).*/\1/p" <<<"$2"; }
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "application-bench: PostgreSQL, migration, $REGISTRATIONS registrations" >&2
DATABASE_URL=$(bash scripts/pg-throwaway.sh start "$work/pg")
export DATABASE_URL
"$BUILD_DIR/migrate/zeva-migrate" upgrade head --fixtures >"$work/migrate.log" 2>&1 ||
  { cat "$work/migrate.log" >&2; exit 1; }
sql() { psql -qAt -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }
import_id=$(sql -c "INSERT INTO icbc_imports (status, file_name, current_to, size_bytes, sha256,
    received_bytes, uploaded_by, queued_seq, finished_at, rows_read, rows_kept,
    registrations_added) VALUES ('COMPLETED', 'bench.csv', '2024-01-31', 1, repeat('0', 64), 1,
    'test_gov_1', nextval('icbc_imports_queued_seq'), now(), $REGISTRATIONS, $REGISTRATIONS,
    $REGISTRATIONS) RETURNING id" | head -n 1)
"$BENCH" registrations "$REGISTRATIONS" "$import_id" >"$work/registrations.csv"
sql -c "\\copy icbc_registrations (vin, make, model, model_year, import_id) FROM '$work/registrations.csv' WITH (FORMAT csv)"
sql -c "ANALYZE icbc_registrations"
# A BEV of 300 km of the supplier: class A, 2.36 credits a record.
vehicle=$(sql -c "INSERT INTO vehicles (organization_id, type, make, model, \"trim\", range,
    credits) SELECT id, 'BEV', 'Tesla', 'Model 3', 'LR', 300, 1.00 FROM organizations
    WHERE name = 'Test Vehicle Supplier 1' RETURNING id" | head -n 1)

bench_server application-bench
supplier=$(bench_token test_vs_1) analyst=$(bench_token test_gov_1)
director=$(bench_token test_gov_director)

echo "application-bench: the service, $RECORDS records in calls of $BATCH, SUBMIT" >&2
filed=$("$BENCH" file "$target" "$supplier" "$vehicle" "$RECORDS" "$BATCH" "$REGISTRATIONS")
application=$(field application_id "$filed")

# psql's side: the same records, one UPDATE from one join against the registrations.
psql_check() {
  local start
  start=$(date +%s.%N)
  sql >/dev/null <<SQL
UPDATE credit_application_records r SET icbc_make = g.make, icbc_model = g.model,
  icbc_model_year = g.model_year, included = (g.model_year = r.model_year)
FROM icbc_registrations g WHERE g.vin = r.vin AND r.application_id = $application;
SQL
  seconds_since "$start"
}
service_runs=() psql_runs=() checks=()
for round in $(seq 1 "$ROUNDS"); do
  echo "application-bench: CHECK side by side, round $round of $ROUNDS" >&2
  checked=$("$BENCH" check "$target" "$analyst" "$application")
  checks+=("$checked")
  service_runs+=("$(field check_seconds "$checked")")
  psql_runs+=("$(psql_check)")
done
# The service's CHECK, last: the decisions VALIDATE uses are its own, not psql's.
checked=$("$BENCH" check "$target" "$analyst" "$application")
included=$(field included "$checked")
warnings=$(field warnings "$checked")
[ "$included" = "$RECORDS" ] && [ "$warnings" = 0 ] ||
  { echo "application-bench: CHECK left $included of $RECORDS included: $checked" >&2; exit 1; }

echo "application-bench: RECOMMEND_APPROVAL, VALIDATE" >&2
validated=$("$BENCH" validate "$target" "$analyst" "$director" "$application")
awarded=$(sql -c "SELECT count(*) FROM awarded_vins WHERE application_id = $application")
[ "$awarded" = "$RECORDS" ] ||
  { echo "application-bench: $awarded VINs awarded, not $RECORDS" >&2; exit 1; }

service_median=$(echo "${service_runs[*]}" | median)
psql_median=$(echo "${psql_runs[*]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mkdir -p "$OUT"
{
  echo "# Credit applications: CHECK against psql side by side, VALIDATE, AddSalesRecords"
  echo
  echo "$REGISTRATIONS registrations (loaded with psql \\copy as one COMPLETED import, then"
  echo "ANALYZE: set-up, not measured; bench/icbc.sh measures the import), one application of"
  echo "$RECORDS records spread over them; one PostgreSQL, server and client (generated gRPC"
  echo "client, \`bench/applications.sh\`)."
  echo
  echo "| step | time (s) |"
  echo "|---|---|"
  echo "| AddSalesRecords: $RECORDS records in $(field add_calls "$filed") calls of $BATCH | $(field add_seconds "$filed") |"
  echo "| SUBMIT (lines fixed) | $(field submit_seconds "$filed") |"
  echo "| VALIDATE: $RECORDS included records, one transaction (journal $(field journal_id "$validated"), $(field credits_hundredths "$validated") hundredths) | $(field validate_seconds "$validated") |"
  echo
  echo "CHECK, side by side (service: one TransitionApplication CHECK call, every warning in"
  echo "one set-based statement, history, event and the application read back; psql: one"
  echo "\`UPDATE credit_application_records ... FROM icbc_registrations\` join of the same"
  echo "records, its process included):"
  echo
  echo "| round | service CHECK (s) | psql UPDATE ... FROM join (s) | ratio |"
  echo "|---|---|---|---|"
  for i in "${!service_runs[@]}"; do
    echo "| $((i + 1)) | ${service_runs[$i]} | ${psql_runs[$i]} | $(ratio "${service_runs[$i]}" "${psql_runs[$i]}") |"
  done
  echo "| median | $service_median | $psql_median | $(ratio "$service_median" "$psql_median") |"
  echo
  echo "Ratio (median service CHECK over median psql UPDATE): $(ratio "$service_median" "$psql_median") (target: at most 3)."
  echo
  echo "Service runs (JSON): filed \`$filed\`; checks $(printf '`%s` ' "${checks[@]}")final \`$checked\`; validated \`$validated\`."
  echo
  echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1);" \
    "load average before the run $load_before, after $(cut -d' ' -f1-3 /proc/loadavg);" \
    "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(date -u +%Y-%m-%dT%H:%M:%SZ)."
} >"$OUT/applications.md"
cat "$OUT/applications.md"
