#include "auth/authenticator.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "domain/refusal.h"

namespace zeva::auth {
namespace {

constexpr size_t kUserCacheCapacity = 10000;

absl::Status NoHeader() {
  return domain::Refusal(absl::StatusCode::kUnauthenticated, "No authentication header");
}

absl::Status Failed(absl::string_view reason) {
  spdlog::debug("auth: refused: {}", std::string(reason));
  return domain::Refusal(absl::StatusCode::kUnauthenticated, "Authentication failed");
}

// Identities are printable: a control character (NUL, DEL, C1) in a signed user_id is
// either an attack on code that stops at NUL or garbage; neither names a user.
bool IsPrintableIdentity(const std::string& user_id) {
  for (size_t i = 0; i < user_id.size(); ++i) {
    const auto c = static_cast<unsigned char>(user_id[i]);
    if (c < 0x20 || c == 0x7F) return false;
    // U+0080-U+009F (C1 controls) are 0xC2 0x80-0x9F in UTF-8.
    if (c == 0xC2 && i + 1 < user_id.size() && static_cast<unsigned char>(user_id[i + 1]) <= 0x9F) {
      return false;
    }
  }
  return !user_id.empty();
}

// Cache key: the token's digest, so that the cache holds no usable tokens.
std::string Sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// The token in an `authorization` value: "Bearer <token>" (any case) or the bare token.
std::string ExtractToken(const std::string& header) {
  absl::string_view value = absl::StripAsciiWhitespace(header);
  if (absl::StartsWithIgnoreCase(value, "bearer ")) {
    value = absl::StripLeadingAsciiWhitespace(value.substr(7));
  }
  return std::string(value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(const AuthOptions& options,
                                                                     UserLookup lookup) {
  std::unique_ptr<KeyStore> keys;
  if (!options.rs256_public_key.empty()) {
    auto fixed = KeyStore::FromPem(options.rs256_public_key);
    if (!fixed.ok()) return fixed.status();
    keys = *std::move(fixed);
    spdlog::info("auth: tokens are verified with the fixed KEYCLOAK_RS256_PUBLIC_KEY");
  } else if (!options.certs_url.empty()) {
    KeyStore::JwksOptions jwks;
    jwks.url = options.certs_url;
    jwks.refresh = std::chrono::seconds(options.jwks_refresh_seconds);
    jwks.min_refetch = std::chrono::seconds(options.jwks_min_refetch_seconds);
    jwks.timeout_ms = options.jwks_timeout_ms;
    keys = KeyStore::FromJwksUrl(jwks);
    spdlog::info("auth: tokens are verified with the JWKS at {}", options.certs_url);
  } else {
    return absl::InvalidArgumentError(
        "a token key is required: set KEYCLOAK_CERTS_URL (JWKS) or KEYCLOAK_RS256_PUBLIC_KEY");
  }
  return std::make_unique<Authenticator>(options, std::move(lookup), std::move(keys));
}

Authenticator::Authenticator(const AuthOptions& options, UserLookup lookup,
                             std::unique_ptr<KeyStore> keys)
    : options_{options.issuer, options.audience, options.clock_skew_seconds},
      user_ttl_(options.user_cache_ttl_seconds),
      lookup_(std::move(lookup)),
      keys_(std::move(keys)),
      tokens_(static_cast<size_t>(std::max(options.token_cache_size, 0))),
      users_(options.user_cache_ttl_seconds > 0 ? kUserCacheCapacity : 0) {}

Authenticator::~Authenticator() { Stop(); }

void Authenticator::Stop() { keys_->Stop(); }

bool Authenticator::KeysLoaded() const { return keys_->KeysLoaded(); }

JwksStats Authenticator::Stats() const { return keys_->Stats(); }

std::optional<std::string> Authenticator::CachedUserId(const std::string& digest,
                                                       std::chrono::system_clock::time_point now) {
  auto hit = tokens_.Get(digest, now);
  if (!hit) return std::nullopt;
  // Served only while the key that verified it is still the one held under its kid, so
  // that a key dropped from the JWKS stops its tokens at the next refresh.
  auto current = keys_->Find(hit->key->kid);
  if (current && current->pem == hit->key->pem) return hit->user_id;
  tokens_.Erase(digest);
  return std::nullopt;
}

absl::StatusOr<std::string> Authenticator::VerifiedUserId(
    const std::string& token, std::chrono::system_clock::time_point deadline) {
  auto now = std::chrono::system_clock::now();
  std::string digest = Sha256(token);
  if (auto user_id = CachedUserId(digest, now)) return *std::move(user_id);
  auto verified = VerifyToken(token, *keys_, options_, deadline);
  if (!verified.ok()) return verified.status();
  tokens_.Put(digest, CachedToken{verified->user_id, verified->key}, verified->expires_at, now);
  return verified->user_id;
}

absl::StatusOr<std::string> Authenticator::TokenOf(const std::string* header) {
  if (header == nullptr) return NoHeader();
  if (header->size() > kMaxTokenBytes) return Failed("authorization value too large");
  std::string token = ExtractToken(*header);
  if (token.empty()) return Failed("empty token");
  return token;
}

std::optional<absl::StatusOr<Caller>> Authenticator::AuthenticateWithoutWaiting(
    const std::string* header) {
  auto token = TokenOf(header);
  if (!token.ok()) return absl::StatusOr<Caller>(token.status());
  const auto now = std::chrono::system_clock::now();
  // A user is cached only under an id that passed every check of Authenticate.
  auto user_id = CachedUserId(Sha256(*token), now);
  if (!user_id) return std::nullopt;
  if (auto cached = users_.Get(*user_id, now)) return absl::StatusOr<Caller>(*std::move(cached));
  return std::nullopt;
}

absl::StatusOr<Caller> Authenticator::Authenticate(const std::string* header,
                                                   std::chrono::system_clock::time_point deadline) {
  auto token = TokenOf(header);
  if (!token.ok()) return token.status();

  auto user_id = VerifiedUserId(*token, deadline);
  if (!user_id.ok()) return Failed(user_id.status().message());
  if (!IsPrintableIdentity(*user_id)) return Failed("user_id holds control characters");

  auto now = std::chrono::system_clock::now();
  if (auto cached = users_.Get(*user_id, now)) return *cached;
  auto found = lookup_(*user_id, deadline);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Failed("user '" + *user_id + "' not in the database");
  users_.Put(*user_id, **found, now + user_ttl_, now);
  return **found;
}

}  // namespace zeva::auth
