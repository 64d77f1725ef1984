#pragma once
// Everything the server reads at start-up, in one typed struct. Environment variable names
// follow docs/contract.md ("Configuration"); every field also has a flag (see --help).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/option_set.h"

namespace zeva::config {

// Dev defaults of the token claims (also used by the zeva-dev-token tool).
inline constexpr char kDefaultKeycloakIssuer[] = "http://localhost:8888/auth/realms/zeva";
inline constexpr char kDefaultKeycloakAudience[] = "zeva-app";

struct KeycloakConfig {
  std::string certs_url;  // JWKS endpoint of the realm
  std::string realm;
  std::string authority;
  std::string issuer = kDefaultKeycloakIssuer;      // expected `iss`
  std::string audience = kDefaultKeycloakAudience;  // `aud` must contain it
  std::string client_id;
  std::string rs256_public_key;  // fixed PEM key; when set, stands in for the JWKS
  int clock_skew_seconds = 30;
  int jwks_refresh_seconds = 300;
  int jwks_min_refetch_seconds = 10;
  int jwks_timeout_ms = 3000;
  int user_cache_ttl_seconds = 30;
  int token_cache_size = 10000;
};

struct ServerConfig {
  std::string listen_address = "0.0.0.0";
  int port = 10102;
  std::string log_level = "info";
  std::string log_format = "plain";
  std::string database_url;
  int db_pool_size = 8;
  int db_acquire_timeout_ms = 2000;
  int db_connect_timeout_seconds = 5;
  int db_pool_caller_share_percent = 50;
  int db_probe_timeout_ms = 2000;
  int db_peer_timeout_ms = 10000;
  int default_deadline_ms = 30000;
  int shutdown_grace_seconds = 20;
  int max_threads = 1024;
  int min_pollers = 16;
  int max_pollers = 32;
  bool read_cache = true;
  int metrics_port = 9102;    // 0: no metrics endpoint
  std::string tls_cert_file;  // both set: the gRPC port speaks TLS only
  std::string tls_key_file;
  int keepalive_time_ms = 60000;
  int keepalive_timeout_ms = 20000;
  int max_connection_age_ms = 300000;
  int max_connection_age_grace_ms = 30000;
  int max_message_bytes = 4 * 1024 * 1024;
  int max_concurrent_streams = 200;
  KeycloakConfig keycloak;
};

struct ParsedServerConfig {
  ServerConfig config;
  bool help_requested = false;
};

// Pure: the same arguments and environment always give the same result.
absl::StatusOr<ParsedServerConfig> ParseServerConfig(const std::vector<std::string>& args,
                                                     const EnvLookup& env);

// The --help text: every option with its environment variable and default.
std::string ServerHelp();

}  // namespace zeva::config
