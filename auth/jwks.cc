#include "auth/jwks.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "auth/rsa_key.h"

namespace zeva::auth {
namespace {

std::string StringMember(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

bool IsAcceptedAlgorithm(const std::string& alg) {
  return alg == "RS256" || alg == "RS384" || alg == "RS512";
}

absl::StatusOr<KeySet> ParseJwks(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("JWKS is not a JSON object");
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS has no `keys` array");
  }
  KeySet result;
  for (const auto& jwk : *keys) {
    if (!jwk.is_object()) continue;
    std::string kid = StringMember(jwk, "kid");
    std::string use = StringMember(jwk, "use");
    std::string alg = StringMember(jwk, "alg");
    if (StringMember(jwk, "kty") != "RSA" || kid.empty() || (!use.empty() && use != "sig") ||
        (!alg.empty() && !IsAcceptedAlgorithm(alg))) {
      continue;
    }
    auto pem = RsaPublicKeyPemFromJwk(StringMember(jwk, "n"), StringMember(jwk, "e"));
    if (!pem.ok()) {
      spdlog::warn("auth: JWKS key {} skipped: {}", kid, std::string(pem.status().message()));
      continue;
    }
    result[kid] = std::make_shared<const PublicKey>(PublicKey{kid, alg, *std::move(pem)});
  }
  if (result.empty()) return absl::InvalidArgumentError("JWKS holds no usable RSA signing key");
  return result;
}

}  // namespace zeva::auth
