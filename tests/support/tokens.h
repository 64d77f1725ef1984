#pragma once
// Signed test tokens: an RSA key pair made once per test run, and JWTs for any user.

#include <nlohmann/json.hpp>
#include <string>

namespace zeva::testing {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// Made on first use with the openssl command (RSA 2048); `index` gives independent pairs.
const KeyPair& TestKeys(int index = 0);

inline constexpr const char* kTestIssuer = "http://localhost:8888/auth/realms/zeva";
inline constexpr const char* kTestAudience = "zeva-app";

// An RS256 token for `user_id`, valid for five minutes, signed with `keys`; `claims` are
// merged over the defaults (iss, aud, user_id, iat, nbf, exp).
std::string TokenFor(const std::string& user_id,
                     const nlohmann::json& claims = nlohmann::json::object(),
                     const KeyPair& keys = TestKeys(), const std::string& kid = "");

}  // namespace zeva::testing
