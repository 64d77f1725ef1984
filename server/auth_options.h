#pragma once
// The server's start-up translates its Keycloak configuration into what auth/ needs, so that
// auth/ stays below config/'s knowledge of flags and environment variables.

#include "auth/authenticator.h"
#include "config/server_config.h"

namespace zeva::server {

auth::AuthOptions AuthOptionsFrom(const config::KeycloakConfig& keycloak);

}  // namespace zeva::server
