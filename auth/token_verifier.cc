#include "auth/token_verifier.h"

#include <algorithm>
#include <cmath>
#include <jwt/jwt.hpp>
#include <nlohmann/json.hpp>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "auth/base64url.h"

namespace zeva::auth {
namespace {

constexpr char kCompactJwsCharacters[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

absl::Status Refused(absl::string_view reason) { return absl::UnauthenticatedError(reason); }

// Attacker-controlled text in a log line: short and printable only.
std::string Printable(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

// A numeric date claim (seconds since the epoch) as a whole number, when it is one.
std::optional<int64_t> NumericDate(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  double value = it->get<double>();
  if (!std::isfinite(value) || value < 0 || value > 1e13) return std::nullopt;
  return static_cast<int64_t>(value);
}

bool AudienceContains(const nlohmann::json& aud, const std::string& audience) {
  if (aud.is_string()) return aud.get<std::string>() == audience;
  if (!aud.is_array()) return false;
  return std::any_of(aud.begin(), aud.end(), [&](const nlohmann::json& a) {
    return a.is_string() && a.get<std::string>() == audience;
  });
}

struct Header {
  std::string alg;
  std::string kid;
};

absl::StatusOr<Header> ReadHeader(const std::string& token) {
  if (std::count(token.begin(), token.end(), '.') != 2) return Refused("not a JWS (dots)");
  size_t dot = token.find('.');
  if (dot == 0 || token.back() == '.') return Refused("not a JWS (empty part)");
  // cpp-jwt's base64 decoder reads out of its table (and shifts negative values) on any
  // other byte; RFC 7515's compact form has nothing else, not even padding.
  if (token.find_first_not_of(kCompactJwsCharacters) != std::string::npos) {
    return Refused("not a JWS (characters)");
  }
  auto json_text = Base64UrlDecode(std::string_view(token).substr(0, dot));
  if (!json_text) return Refused("header is not base64url");
  nlohmann::json header = nlohmann::json::parse(*json_text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return Refused("header is not JSON");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return Refused("header has no alg");
  Header result{alg->get<std::string>(), ""};
  // Checked here, before any key is touched: `none` and HMAC never reach the verifier.
  if (!IsAcceptedAlgorithm(result.alg)) {
    return Refused(absl::StrCat("algorithm '", Printable(result.alg), "' not accepted"));
  }
  auto kid = header.find("kid");
  if (kid != header.end()) {
    if (!kid->is_string()) return Refused("kid is not a string");
    result.kid = kid->get<std::string>();
  }
  return result;
}

}  // namespace

absl::StatusOr<VerifiedToken> VerifyToken(const std::string& token, KeyStore& keys,
                                          const VerifyOptions& options,
                                          std::chrono::system_clock::time_point deadline) {
  auto header = ReadHeader(token);
  if (!header.ok()) return header.status();

  std::shared_ptr<const PublicKey> key = keys.Find(header->kid);
  if (!key && keys.RefetchForUnknownKid(deadline)) key = keys.Find(header->kid);
  if (!key) return Refused(absl::StrCat("unknown kid '", Printable(header->kid), "'"));
  if (!key->alg.empty() && key->alg != header->alg) {
    return Refused(absl::StrCat("algorithm ", header->alg, " does not match key ", key->kid));
  }

  // cpp-jwt parses the token and checks the signature with the key and the one algorithm
  // accepted above. Its own claim checks are not used: they read `exp`/`nbf` as unsigned
  // and wrap around on values below the leeway (Keycloak sends `nbf: 0`), and they cannot
  // read an `aud` array. It throws on some malformed input, hence the catch.
  nlohmann::json payload;
  try {
    jwt::string_view text(token.data(), token.size());
    std::error_code ec;
    auto decoded =
        jwt::decode(text, jwt::params::algorithms({header->alg}), ec, jwt::params::verify(false));
    if (ec) return Refused(absl::StrCat("malformed token: ", ec.message()));
    if (decoded.header().algo() != jwt::str_to_alg(header->alg)) {
      return Refused("algorithm changed while decoding");
    }
    size_t signed_end = token.rfind('.');
    jwt::jwt_signature signature(jwt::string_view(key->pem.data(), key->pem.size()));
    auto [valid, signature_ec] =
        signature.verify(decoded.header(), text.substr(0, signed_end), text.substr(signed_end + 1));
    if (signature_ec || !valid) return Refused("bad signature");
    payload = decoded.payload().create_json_obj();
  } catch (const std::exception& e) {
    return Refused(absl::StrCat("malformed token: ", e.what()));
  }

  auto exp = NumericDate(payload, "exp");
  if (!exp) return Refused("no valid exp");
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  if (now > *exp + options.clock_skew_seconds) return Refused("expired");
  if (payload.contains("nbf")) {
    auto nbf = NumericDate(payload, "nbf");
    if (!nbf) return Refused("invalid nbf");
    if (*nbf - options.clock_skew_seconds > now) return Refused("not yet valid");
  }
  auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string() || iss->get<std::string>() != options.issuer) {
    return Refused("issuer does not match");
  }
  auto aud = payload.find("aud");
  if (aud == payload.end() || !AudienceContains(*aud, options.audience)) {
    return Refused("audience does not match");
  }
  auto user_id = payload.find("user_id");
  if (user_id == payload.end() || !user_id->is_string() || user_id->get<std::string>().empty()) {
    return Refused("no user_id claim");
  }
  return VerifiedToken{user_id->get<std::string>(), std::move(key),
                       std::chrono::system_clock::time_point(std::chrono::seconds(*exp))};
}

}  // namespace zeva::auth
