#include "server/auth_options.h"

namespace zeva::server {

auth::AuthOptions AuthOptionsFrom(const config::KeycloakConfig& keycloak) {
  auth::AuthOptions options;
  options.certs_url = keycloak.certs_url;
  options.rs256_public_key = keycloak.rs256_public_key;
  options.issuer = keycloak.issuer;
  options.audience = keycloak.audience;
  options.clock_skew_seconds = keycloak.clock_skew_seconds;
  options.jwks_refresh_seconds = keycloak.jwks_refresh_seconds;
  options.jwks_min_refetch_seconds = keycloak.jwks_min_refetch_seconds;
  options.jwks_timeout_ms = keycloak.jwks_timeout_ms;
  options.user_cache_ttl_seconds = keycloak.user_cache_ttl_seconds;
  options.token_cache_size = keycloak.token_cache_size;
  return options;
}

}  // namespace zeva::server
