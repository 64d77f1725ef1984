#pragma once
// RSA public keys in the one form cpp-jwt verifies with: PEM (SubjectPublicKeyInfo).

#include <string>

#include "absl/status/statusor.h"

namespace zeva::auth {

// Keys shorter than this are refused wherever they come from.
inline constexpr int kMinRsaBits = 2048;

// Builds the key from a JWK's modulus `n` and exponent `e` (base64url, big-endian) with
// OpenSSL 3's EVP_PKEY_fromdata.
absl::StatusOr<std::string> RsaPublicKeyPemFromJwk(const std::string& n_b64url,
                                                   const std::string& e_b64url);

// Checks that `text` is an RSA public key and returns it as PEM. Also accepts the bare
// base64 body Keycloak's admin console shows, and "\n" written as two characters (as the
// key often arrives through an environment variable).
absl::StatusOr<std::string> NormalizeRsaPublicKeyPem(const std::string& text);

}  // namespace zeva::auth
