#include "auth/jwt_sign.h"

#include <jwt/jwt.hpp>

#include "absl/strings/str_cat.h"

namespace zeva::auth {

absl::StatusOr<std::string> SignJwt(const nlohmann::json& claims, const std::string& key,
                                    const std::string& alg, const std::string& kid) {
  if (!claims.is_object()) return absl::InvalidArgumentError("claims must be a JSON object");
  try {
    jwt::jwt_object obj{jwt::params::algorithm(jwt::string_view(alg.data(), alg.size())),
                        jwt::params::secret(jwt::string_view(key.data(), key.size()))};
    if (!kid.empty()) obj.header().add_header("kid", kid);
    for (const auto& [name, value] : claims.items()) {
      obj.payload().add_claim(jwt::string_view(name.data(), name.size()), value);
    }
    std::error_code ec;
    std::string token = obj.signature(ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot sign: ", ec.message()));
    return token;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("cannot sign: ", e.what()));
  }
}

}  // namespace zeva::auth
