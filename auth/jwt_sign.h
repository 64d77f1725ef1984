#pragma once
// Signs a JWT (cpp-jwt on OpenSSL): for the dev token tool and for tests.

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace zeva::auth {

// `alg` as cpp-jwt names it (RS256, RS384, RS512, HS256, ...); `key` is the PEM private key
// (or the HMAC secret); `kid` goes into the header when not empty.
absl::StatusOr<std::string> SignJwt(const nlohmann::json& claims, const std::string& key,
                                    const std::string& alg, const std::string& kid);

}  // namespace zeva::auth
