#!/usr/bin/env bash
# Runs the service on a fresh Debian bookworm machine: installs the dependencies, builds,
# and, when DATABASE_URL is not set, starts a throwaway PostgreSQL (stopped on exit),
# migrates it with the test fixtures, and serves on $PORT (default 10102) with a dev
# signing key under .dev/ (see docs/api.md, "Calling the service"). Beside the server runs the
# outbox worker (zeva-worker), which delivers to RabbitMQ: when RABBITMQ_URL is not set, to
# a throwaway node (private name, data and free ports; stopped on exit). It mails through
# SMTP_URL when that is set; its health port is HEALTH_PORT (default 10103) and its
# metrics port WORKER_METRICS_PORT (default 9103, beside the server's METRICS_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Only what this script runs (not the test binaries): the server, the worker, the migration
# runner and the dev-token tool.
TARGET="zeva-transaction-service zeva-worker zeva-migrate zeva-dev-token" bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}

# A dev RSA key pair, made once and kept out of git; tokens for it come from
# scripts/dev-token.sh.
mkdir -p .dev
if [ ! -f .dev/jwt-dev-private.pem ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out .dev/jwt-dev-private.pem 2>/dev/null
  openssl pkey -in .dev/jwt-dev-private.pem -pubout -out .dev/jwt-dev-public.pem
fi
if [ -z "${KEYCLOAK_CERTS_URL:-}" ] && [ -z "${KEYCLOAK_RS256_PUBLIC_KEY:-}" ]; then
  KEYCLOAK_RS256_PUBLIC_KEY=$(cat .dev/jwt-dev-public.pem)
  export KEYCLOAK_RS256_PUBLIC_KEY
fi

pgdir=""
rmqdir=""
server=""
worker=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" || true; fi
  # The worker before the broker and the database it delivers from and to.
  if [ -n "$worker" ]; then kill -TERM "$worker" 2>/dev/null || true; wait "$worker" || true; fi
  if [ -n "$rmqdir" ]; then
    bash scripts/rabbitmq-throwaway.sh stop "$rmqdir/rmq" || true
    rm -rf "$rmqdir"
  fi
  if [ -n "$pgdir" ]; then bash scripts/pg-throwaway.sh stop "$pgdir/pg" || true; rm -rf "$pgdir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d)
  DATABASE_URL=$(bash scripts/pg-throwaway.sh start "$pgdir/pg")
  export DATABASE_URL
  echo "run: throwaway PostgreSQL at $DATABASE_URL (removed on exit)"
  export LOAD_TEST_FIXTURES=${LOAD_TEST_FIXTURES:-True}
fi

if [ -z "${RABBITMQ_URL:-}" ]; then
  rmqdir=$(mktemp -d)
  RABBITMQ_URL=$(bash scripts/rabbitmq-throwaway.sh start "$rmqdir/rmq")
  export RABBITMQ_URL
  echo "run: throwaway RabbitMQ at $RABBITMQ_URL (node data and logs in $rmqdir/rmq, removed on exit)"
else
  echo "run: RabbitMQ from RABBITMQ_URL"
fi

"$BUILD_DIR/migrate/zeva-migrate" upgrade head

# How to call it: buf (npm's @bufbuild/buf) reads the API through server reflection.
port=${PORT:-10102}
if [ -n "${KEYCLOAK_RS256_PUBLIC_KEY:-}" ] && [ -f .dev/jwt-dev-private.pem ]; then
  token=$("$BUILD_DIR/tools/zeva-dev-token" test_vs_1 2>/dev/null || true)
  director=$("$BUILD_DIR/tools/zeva-dev-token" test_gov_director 2>/dev/null || true)
  analyst=$("$BUILD_DIR/tools/zeva-dev-token" test_gov_1 2>/dev/null || true)
fi
cat <<EOT
run: zeva-transaction-service on localhost:$port, zeva-worker beside it (health on
     localhost:${HEALTH_PORT:-10103}); Ctrl-C stops both and the throwaway database and broker
run: a dev token for test_vs_1, valid for an hour (new ones: scripts/dev-token.sh USER;
     fixture users: test_vs_1, test_vs_2, test_vs_3, test_vs_1_user, test_gov_1, test_gov_director):
TOKEN=${token:-<set KEYCLOAK_RS256_PUBLIC_KEY to the dev key to get one>}
DIRECTOR=${director:-<set KEYCLOAK_RS256_PUBLIC_KEY to the dev key to get one>}
ANALYST=${analyst:-<set KEYCLOAK_RS256_PUBLIC_KEY to the dev key to get one>}
run: call it, e.g.
  npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge --list-methods http://localhost:$port
  npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$TOKEN" \\
    http://localhost:$port/zeva.organizations.OrganizationDetails/GetMyOrganization
  npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$TOKEN" \\
    -d '{"organization": 0}' http://localhost:$port/zeva.transactions.ZEVModels/ListModels
run: the credit ledger: a supplier's balances, and the director issuing credits for vehicle 1
  npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$TOKEN" \\
    http://localhost:$port/zeva.credits.v1.CreditLedgerService/GetBalances
  npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$DIRECTOR" \\
    -d '{"idempotencyKey": "demo-1", "organizationId": 1, "reference": "sales/2021-demo",
         "lines": [{"vehicleId": 1, "modelYear": 2021, "quantity": 10}]}' \\
    http://localhost:$port/zeva.credits.v1.CreditAdminService/IssueCredits
run: a credit application (docs/applications.md), on a fresh database: test_vs_1 files three
     sales of vehicle 1 (a 150 km BZEV of Test Vehicle Supplier 1: class A, 1.43 credits), the
     analyst checks them (no ICBC import loaded: each is NO_ICBC_MATCH, so the analyst includes
     them with a reason) and recommends, the director validates, the balance shows 4.29 credits
  B="npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge"
  A=http://localhost:$port/zeva.credits.v1.CreditApplicationService
  \$B -H "authorization: Bearer \$TOKEN" -d '{"idempotencyKey": "app-1"}' \$A/CreateApplication
  \$B -H "authorization: Bearer \$TOKEN" -d '{"idempotencyKey": "app-2", "applicationId": 1,
    "records": [{"vin": "5YJ3E1EA8KF000001", "vehicleId": 1, "modelYear": 2021, "saleDate": {"year": 2021, "month": 6, "day": 1}},
                {"vin": "5YJ3E1EAXKF000002", "vehicleId": 1, "modelYear": 2021, "saleDate": {"year": 2021, "month": 6, "day": 2}},
                {"vin": "5YJ3E1EA1KF000003", "vehicleId": 1, "modelYear": 2021, "saleDate": {"year": 2021, "month": 6, "day": 3}}]}' \$A/AddSalesRecords
  \$B -H "authorization: Bearer \$TOKEN" -d '{"idempotencyKey": "app-3", "applicationId": 1, "action": "APPLICATION_ACTION_SUBMIT"}' \$A/TransitionApplication
  \$B -H "authorization: Bearer \$ANALYST" -d '{"idempotencyKey": "app-4", "applicationId": 1, "action": "APPLICATION_ACTION_CHECK"}' \$A/TransitionApplication
  \$B -H "authorization: Bearer \$ANALYST" -d '{"idempotencyKey": "app-5", "applicationId": 1, "decisions": [
    {"recordId": 1, "included": true, "reason": "seen the invoice"}, {"recordId": 2, "included": true, "reason": "seen the invoice"},
    {"recordId": 3, "included": true, "reason": "seen the invoice"}]}' \$A/SetRecordDecisions
  \$B -H "authorization: Bearer \$ANALYST" -d '{"idempotencyKey": "app-6", "applicationId": 1, "action": "APPLICATION_ACTION_RECOMMEND_APPROVAL"}' \$A/TransitionApplication
  \$B -H "authorization: Bearer \$DIRECTOR" -d '{"idempotencyKey": "app-7", "applicationId": 1, "action": "APPLICATION_ACTION_VALIDATE"}' \$A/TransitionApplication
  \$B -H "authorization: Bearer \$TOKEN" http://localhost:$port/zeva.credits.v1.CreditLedgerService/GetBalances
run: annual compliance (docs/compliance.md), after the application above (and without the
     issuance before it): test_vs_1 files its
     2024 model year report (30 LDVs; 3,500 in 2021-2023: a medium supplier, so no class A
     part: 30 x 19.5 % = 5.85 credits), sees the preview (its 4.29 credits deducted, 1.56 left
     as a deficit), the analyst recommends, the director assesses: the balance goes to 0 and
     GetDeficits shows 2024 ANY_CLASS 1.56
  C=http://localhost:$port/zeva.credits.v1.ComplianceService
  \$B -H "authorization: Bearer \$TOKEN" -d '{"idempotencyKey": "myr-1", "modelYear": 2024}' \$C/CreateModelYearReport
  \$B -H "authorization: Bearer \$TOKEN" -d '{"idempotencyKey": "myr-2", "reportId": 1, "ldvSales": 30, "makes": ["Test Make"],
    "previousSales": [{"modelYear": 2021, "ldvSales": 1000}, {"modelYear": 2022, "ldvSales": 1000},
                      {"modelYear": 2023, "ldvSales": 1500}], "attested": true}' \$C/UpdateModelYearReport
  \$B -H "authorization: Bearer \$TOKEN" -d '{"idempotencyKey": "myr-3", "reportId": 1, "action": "MODEL_YEAR_REPORT_ACTION_SUBMIT"}' \$C/TransitionModelYearReport
  \$B -H "authorization: Bearer \$ANALYST" -d '{"idempotencyKey": "myr-4", "reportId": 1, "action": "MODEL_YEAR_REPORT_ACTION_RECOMMEND"}' \$C/TransitionModelYearReport
  \$B -H "authorization: Bearer \$DIRECTOR" -d '{"idempotencyKey": "myr-5", "reportId": 1, "action": "MODEL_YEAR_REPORT_ACTION_ASSESS"}' \$C/TransitionModelYearReport
  \$B -H "authorization: Bearer \$TOKEN" http://localhost:$port/zeva.credits.v1.CreditLedgerService/GetBalances
  \$B -H "authorization: Bearer \$TOKEN" \$C/GetDeficits
EOT
# The outbox worker: RabbitMQ (exchanges zeva.events and notifications) and, with SMTP_URL,
# e-mail; without it, this local run sends no e-mail at all (MAIL_DISABLED). Its metrics port
# must not clash with the server's.
if [ -z "${SMTP_URL:-}" ]; then export MAIL_DISABLED=${MAIL_DISABLED:-true}; fi
METRICS_PORT=${WORKER_METRICS_PORT:-9103} "$BUILD_DIR/worker/zeva-worker" &
worker=$!
"$BUILD_DIR/server/zeva-transaction-service" "$@" &
server=$!
wait "$server"
