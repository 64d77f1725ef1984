#pragma once
// Base64url (RFC 4648 section 5, no padding) as JWTs and JWKs use it, on top of OpenSSL's
// base64 so that no decoding table lives here.

#include <optional>
#include <string>
#include <string_view>

namespace zeva::auth {

// nullopt for anything that is not strict base64url (padding '=' at the end is tolerated).
std::optional<std::string> Base64UrlDecode(std::string_view text);

std::string Base64UrlEncode(std::string_view bytes);

}  // namespace zeva::auth
