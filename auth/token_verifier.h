#pragma once
// Verifies one JWT: algorithm (RS256/RS384/RS512 only), key by kid, signature (cpp-jwt on
// OpenSSL), exp/nbf with clock skew, iss, aud (string or array), and the `user_id` claim.

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "auth/jwks.h"
#include "auth/key_store.h"

namespace zeva::auth {

struct VerifyOptions {
  std::string issuer;
  std::string audience;
  int clock_skew_seconds = 30;
};

struct VerifiedToken {
  std::string user_id;
  std::shared_ptr<const PublicKey> key;              // the key that verified it
  std::chrono::system_clock::time_point expires_at;  // the token's `exp`
};

// Errors are UNAUTHENTICATED with the reason (for debug logs; never shown to callers and
// never containing the token). May wait for a JWKS download for an unknown kid (see
// KeyStore), never past `deadline`.
absl::StatusOr<VerifiedToken> VerifyToken(
    const std::string& token, KeyStore& keys, const VerifyOptions& options,
    std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max());

}  // namespace zeva::auth
