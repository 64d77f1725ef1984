#pragma once
// Parsing of a JWKS document (RFC 7517) into the RSA signing keys it holds.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace zeva::auth {

struct PublicKey {
  std::string kid;  // empty for the fixed key
  std::string alg;  // the JWK's `alg` (RS256/RS384/RS512) or empty: any of them
  std::string pem;  // SubjectPublicKeyInfo PEM, what cpp-jwt verifies with
};

// By kid. Immutable once built; replaced as a whole on refresh.
using KeySet = std::map<std::string, std::shared_ptr<const PublicKey>>;

// True for the algorithms this service accepts: RS256, RS384, RS512 (exact spelling).
bool IsAcceptedAlgorithm(const std::string& alg);

// Keeps RSA signing keys (kty RSA, use absent or "sig", alg absent or accepted, a kid)
// and skips the rest (e.g. Keycloak's RSA-OAEP encryption key). A document that is not a
// JWKS, or holds no usable key, is an error, so that it never replaces good keys.
absl::StatusOr<KeySet> ParseJwks(const std::string& body);

}  // namespace zeva::auth
