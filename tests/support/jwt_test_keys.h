#pragma once
// Real RSA keys and tokens for authentication tests. Keys are generated once per test
// binary (RSA 2048 takes a while) and shared by every test.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "auth/authenticator.h"
#include "auth/caller.h"

namespace zeva::testing {

// The issuer and audience tests sign for, and authentication options that expect them
// (no key source set; clock skew 30 s).
inline constexpr char kTestIssuer[] = "https://sso.test/auth/realms/zeva";
inline constexpr char kTestAudience[] = "zeva-app";
auth::AuthOptions TestAuthOptions();

// A user lookup for which every user exists, in vehicle supplier 1.
auth::UserLookup AnyUserLookup();

// A call deadline for in-process Authenticate calls: ten seconds from now.
inline std::chrono::system_clock::time_point Soon() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

struct TestRsaKey {
  std::string private_pem;
  std::string public_pem;
  std::string n;  // modulus, base64url (as in a JWK)
  std::string e;  // exponent, base64url
};

// Three distinct keys: index 0, 1, 2.
const TestRsaKey& TestKey(int index);

// A JWKS document holding each key under its kid (with "use": "sig", "alg": "RS256").
std::string JwksBody(const std::vector<std::pair<std::string, const TestRsaKey*>>& keys);

// Claims a verifier configured with `issuer` and `audience` accepts: user_id, iss, aud
// (a string), iat, exp in 5 minutes.
nlohmann::json ValidClaims(const std::string& user_id, const std::string& issuer = kTestIssuer,
                           const std::string& audience = kTestAudience);

// Seconds since the epoch, now.
int64_t NowSeconds();

// Signs `claims` (throws on failure). `kid` is left out when empty.
std::string SignToken(const nlohmann::json& claims, const std::string& key_or_secret,
                      const std::string& kid, const std::string& alg = "RS256");

// header.payload. with no signature, as an `alg: none` token looks.
std::string UnsignedToken(const nlohmann::json& header, const nlohmann::json& claims);

}  // namespace zeva::testing
