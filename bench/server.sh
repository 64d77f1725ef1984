# Sourced by the bench scripts (bench/icbc.sh, bench/applications.sh): one server on a free
# port, with tokens signed by a throwaway key. Needs BUILD_DIR, ISSUER and AUDIENCE set, and
# the caller's `work` folder and `cleanup` (which stops $server).
#
#   bench_server NAME      starts zeva-transaction-service (LOG_LEVEL=warn, metrics off) with
#                          a new key; sets $server (its pid) and $target (host:port); fails the
#                          script, with the server's log, when it does not serve within 30 s
#   bench_token USER       prints a day-long token for USER

bench_token() {
  "$BUILD_DIR/tools/zeva-dev-token" --key "$work/key.pem" --issuer "$ISSUER" \
    --audience "$AUDIENCE" --lifetime-seconds 86400 "$1"
}

bench_server() {
  local port public_key
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
  public_key=$(openssl pkey -in "$work/key.pem" -pubout)
  port=$((20000 + RANDOM % 40000))
  while (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((20000 + RANDOM % 40000)); done
  env PORT="$port" METRICS_PORT=0 LOG_LEVEL=warn KEYCLOAK_CERTS_URL= \
    KEYCLOAK_RS256_PUBLIC_KEY="$public_key" KEYCLOAK_ISSUER="$ISSUER" \
    KEYCLOAK_AUDIENCE="$AUDIENCE" "$BUILD_DIR/server/zeva-transaction-service" \
    --db-pool-caller-share-percent=100 >>"$work/server.log" 2>&1 &
  server=$!
  target=127.0.0.1:$port
  if ! "$BUILD_DIR/bench/zeva-bench" --target "$target" --scenario health --calls 1 \
      --wait-ready-ms 30000 >/dev/null; then
    echo "$1: the server did not come up" >&2; tail -n 30 "$work/server.log" >&2; exit 1
  fi
}
