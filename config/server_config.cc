#include "config/server_config.h"

#include "absl/strings/str_cat.h"

namespace zeva::config {
namespace {

OptionSet ServerOptions(ServerConfig* c) {
  // Defaults live once, in the struct's initialisers; the table shows and applies them.
  const ServerConfig d;
  OptionSet options(
      "zeva-transaction-service: the ZEVA transaction gRPC service.\n"
      "Usage: zeva-transaction-service [options]");
  options.AddString("listen-address", "LISTEN_ADDRESS", d.listen_address, "Address to listen on.",
                    &c->listen_address);
  options.AddInt("port", "PORT", d.port, 1, 65535, "gRPC port.", &c->port);
  options.AddChoice("log-level", "LOG_LEVEL", d.log_level,
                    {"trace", "debug", "info", "warn", "error", "critical", "off"},
                    "Minimum level of log lines.", &c->log_level);
  options.AddChoice("log-format", "LOG_FORMAT", d.log_format, {"plain", "json"},
                    "Plain text or one JSON object per line.", &c->log_format);
  options.AddSecret("database-url", "DATABASE_URL",
                    "PostgreSQL URL, postgresql://USER:PASSWORD@HOST[:PORT]/DB. Required.",
                    &c->database_url);
  options.AddInt("db-pool-size", "DB_POOL_SIZE", d.db_pool_size, 1, 1000,
                 "Connections to PostgreSQL held by each replica.", &c->db_pool_size);
  options.AddInt("db-acquire-timeout-ms", "DB_ACQUIRE_TIMEOUT_MS", d.db_acquire_timeout_ms, 1,
                 600000, "How long a call waits for a free connection before UNAVAILABLE.",
                 &c->db_acquire_timeout_ms);
  options.AddInt(
      "db-connect-timeout-seconds", "DB_CONNECT_TIMEOUT_SECONDS", d.db_connect_timeout_seconds, 1,
      600, "Timeout of one connection attempt to PostgreSQL.", &c->db_connect_timeout_seconds);
  options.AddInt("db-pool-caller-share-percent", "DB_POOL_CALLER_SHARE_PERCENT",
                 d.db_pool_caller_share_percent, 1, 100,
                 "Most of the pool one caller (user) may hold at once, in percent (at least one "
                 "connection); beyond it that caller's calls wait, then end RESOURCE_EXHAUSTED.",
                 &c->db_pool_caller_share_percent);
  options.AddInt("db-probe-timeout-ms", "DB_PROBE_TIMEOUT_MS", d.db_probe_timeout_ms, 100, 60000,
                 "Readiness: a database that does not answer SELECT 1 within this is not ready.",
                 &c->db_probe_timeout_ms);
  options.AddInt(
      "db-peer-timeout-ms", "DB_PEER_TIMEOUT_MS", d.db_peer_timeout_ms, 1000, 600000,
      "How soon a PostgreSQL connection whose peer vanished without closing it (network drop, "
      "failed-over host, half-open connection) fails, on every connection the replica opens "
      "(pool, LISTEN, readiness): data unacknowledged this long (tcp_user_timeout), or an idle "
      "connection's TCP keepalives after half of it, every fifth of it (at least 1 s), 3 "
      "unanswered. Then the pool drops the connection and the LISTEN connection reconnects. "
      "libpq parameters set in DATABASE_URL take precedence.",
      &c->db_peer_timeout_ms);
  options.AddInt("default-deadline-ms", "DEFAULT_DEADLINE_MS", d.default_deadline_ms, 100, 86400000,
                 "Deadline of calls that arrive without one. Every database statement of a call "
                 "is bounded by the call's deadline.",
                 &c->default_deadline_ms);
  options.AddInt(
      "shutdown-grace-seconds", "SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds, 0, 3600,
      "After SIGTERM/SIGINT, how long in-flight calls may run before they are cancelled.",
      &c->shutdown_grace_seconds);
  options.AddInt("max-threads", "MAX_THREADS", d.max_threads, 16, 100000,
                 "Cap on the threads that run calls (one per call in flight: database work, user "
                 "lookups, a stream waiting for its client). A call beyond it is refused "
                 "RESOURCE_EXHAUSTED, so keep it well above the expected concurrency; the database "
                 "pool bounds the real work.",
                 &c->max_threads);
  options.AddInt(
      "min-pollers", "MIN_POLLERS", d.min_pollers, 1, 1024,
      "Call threads started at once and kept waiting for calls (also gRPC's pollers). Too "
      "few and threads are started and ended for many calls (measured at 16 callers "
      "on gRPC's synchronous server: GetMyOrganization 28% more calls/s than with 1).",
      &c->min_pollers);
  options.AddInt("max-pollers", "MAX_POLLERS", d.max_pollers, 1, 4096,
                 "Most call threads waiting for calls at once; idle ones above it end. At least "
                 "--min-pollers, below --max-threads.",
                 &c->max_pollers);
  options.AddBool("read-cache", "READ_CACHE", d.read_cache,
                  "Answer GetBalances and ListModels from memory while nothing they show changed. "
                  "Never stale: memory answers only after a round trip on the replica's own "
                  "LISTEN connection that started after the call arrived; without that "
                  "connection every call reads the database.",
                  &c->read_cache);

  options.AddInt("metrics-port", "METRICS_PORT", d.metrics_port, 0, 65535,
                 "Port of the Prometheus /metrics endpoint; 0 turns it off.", &c->metrics_port);
  options.AddString("tls-cert-file", "TLS_CERT_FILE", d.tls_cert_file,
                    "PEM certificate chain; with --tls-key-file the gRPC port accepts TLS only.",
                    &c->tls_cert_file);
  options.AddString("tls-key-file", "TLS_KEY_FILE", d.tls_key_file,
                    "PEM private key of the certificate.", &c->tls_key_file);
  options.AddInt("keepalive-time-ms", "GRPC_KEEPALIVE_TIME_MS", d.keepalive_time_ms, 1000, 86400000,
                 "Server pings an idle connection after this long.", &c->keepalive_time_ms);
  options.AddInt("keepalive-timeout-ms", "GRPC_KEEPALIVE_TIMEOUT_MS", d.keepalive_timeout_ms, 1000,
                 600000, "A ping unanswered this long closes the connection.",
                 &c->keepalive_timeout_ms);
  options.AddInt("max-connection-age-ms", "GRPC_MAX_CONNECTION_AGE_MS", d.max_connection_age_ms,
                 1000, 2147483647,
                 "Connections are asked to close (GOAWAY) after this long, so that long-lived "
                 "HTTP/2 connections from Envoy spread again over new replicas.",
                 &c->max_connection_age_ms);
  options.AddInt("max-connection-age-grace-ms", "GRPC_MAX_CONNECTION_AGE_GRACE_MS",
                 d.max_connection_age_grace_ms, 0, 2147483647,
                 "Time calls on an aged connection get to finish.",
                 &c->max_connection_age_grace_ms);
  options.AddInt("max-message-bytes", "GRPC_MAX_MESSAGE_BYTES", d.max_message_bytes, 1024,
                 256 * 1024 * 1024, "Largest request or response message.", &c->max_message_bytes);
  options.AddInt("max-concurrent-streams", "GRPC_MAX_CONCURRENT_STREAMS", d.max_concurrent_streams,
                 1, 100000, "Concurrent calls allowed on one HTTP/2 connection.",
                 &c->max_concurrent_streams);

  KeycloakConfig* k = &c->keycloak;
  options.AddString("keycloak-certs-url", "KEYCLOAK_CERTS_URL", d.keycloak.certs_url,
                    "JWKS URL of the Keycloak realm (used unless a fixed key is given).",
                    &k->certs_url);
  options.AddString("keycloak-realm", "KEYCLOAK_REALM", d.keycloak.realm,
                    "Keycloak realm (informational).", &k->realm);
  options.AddString("keycloak-authority", "KEYCLOAK_AUTHORITY", d.keycloak.authority,
                    "Keycloak base URL (informational).", &k->authority);
  options.AddString("keycloak-issuer", "KEYCLOAK_ISSUER", d.keycloak.issuer,
                    "Required `iss` of tokens.", &k->issuer);
  options.AddString("keycloak-audience", "KEYCLOAK_AUDIENCE", d.keycloak.audience,
                    "`aud` of tokens must contain this value.", &k->audience);
  options.AddString("keycloak-client-id", "KEYCLOAK_CLIENT_ID", d.keycloak.client_id,
                    "Keycloak client id (informational).", &k->client_id);
  options.AddString("keycloak-rs256-public-key", "KEYCLOAK_RS256_PUBLIC_KEY",
                    d.keycloak.rs256_public_key,
                    "A fixed RS256 public key (PEM text) that replaces the JWKS (dev and tests).",
                    &k->rs256_public_key);
  options.AddInt("jwt-clock-skew-seconds", "JWT_CLOCK_SKEW_SECONDS", d.keycloak.clock_skew_seconds,
                 0, 600, "Leeway applied to `exp` and `nbf`.", &k->clock_skew_seconds);
  options.AddInt("jwks-refresh-seconds", "JWKS_REFRESH_SECONDS", d.keycloak.jwks_refresh_seconds, 5,
                 86400, "How often the JWKS is downloaded again.", &k->jwks_refresh_seconds);
  options.AddInt("jwks-min-refetch-seconds", "JWKS_MIN_REFETCH_SECONDS",
                 d.keycloak.jwks_min_refetch_seconds, 0, 3600,
                 "Least time between two downloads caused by tokens naming an unknown key.",
                 &k->jwks_min_refetch_seconds);
  options.AddInt("jwks-timeout-ms", "JWKS_TIMEOUT_MS", d.keycloak.jwks_timeout_ms, 100, 60000,
                 "Timeout of one JWKS download.", &k->jwks_timeout_ms);
  options.AddInt("user-cache-ttl-seconds", "USER_CACHE_TTL_SECONDS",
                 d.keycloak.user_cache_ttl_seconds, 0, 3600,
                 "How long a looked-up user (and its organization) is reused; 0 disables.",
                 &k->user_cache_ttl_seconds);
  options.AddInt("token-cache-size", "TOKEN_CACHE_SIZE", d.keycloak.token_cache_size, 0, 10000000,
                 "Verified tokens remembered (never past their `exp`); 0 disables.",
                 &k->token_cache_size);
  return options;
}

}  // namespace

absl::StatusOr<ParsedServerConfig> ParseServerConfig(const std::vector<std::string>& args,
                                                     const EnvLookup& env) {
  ParsedServerConfig parsed;
  OptionSet options = ServerOptions(&parsed.config);
  if (auto s = options.ParseFlagsOnly(args, env, &parsed.help_requested); !s.ok()) return s;
  if (parsed.help_requested) return parsed;
  const ServerConfig& c = parsed.config;
  if (auto s = Required(c.database_url, "DATABASE_URL", "database-url"); !s.ok()) return s;
  if (c.keycloak.rs256_public_key.empty() && c.keycloak.certs_url.empty()) {
    return absl::InvalidArgumentError(
        "a token key is required: set KEYCLOAK_CERTS_URL (JWKS) or KEYCLOAK_RS256_PUBLIC_KEY");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both TLS_CERT_FILE and TLS_KEY_FILE");
  }
  if (c.min_pollers > c.max_pollers || c.max_pollers >= c.max_threads) {
    return absl::InvalidArgumentError(
        "pollers: MIN_POLLERS must not exceed MAX_POLLERS, and MAX_POLLERS must stay below "
        "MAX_THREADS (calls need threads too)");
  }
  return parsed;
}

std::string ServerHelp() {
  ServerConfig scratch;
  return ServerOptions(&scratch).Help();
}

}  // namespace zeva::config
