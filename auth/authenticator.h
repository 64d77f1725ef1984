#pragma once
// The one place where the `authorization` metadata becomes a Caller: token verification
// (token_verifier), keys (key_store), and the caller's user (UserLookup), with caches for
// verified tokens (never past their `exp`) and for users (user_cache_ttl_seconds).
// Thread-safe: every gRPC thread may call Authenticate at once.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "auth/caller.h"
#include "auth/key_store.h"
#include "auth/token_verifier.h"
#include "auth/ttl_cache.h"

namespace zeva::auth {

// Longer `authorization` values are refused before any parsing.
inline constexpr size_t kMaxTokenBytes = 16 * 1024;

// What an Authenticator checks and where its keys come from. The server's start-up fills it
// from its configuration (server/auth_options.h); auth/ knows nothing of config/.
struct AuthOptions {
  std::string certs_url;         // JWKS endpoint of the realm
  std::string rs256_public_key;  // fixed PEM key; when set, stands in for the JWKS
  std::string issuer;            // expected `iss`
  std::string audience;          // `aud` must contain it
  int clock_skew_seconds = 30;
  int jwks_refresh_seconds = 300;
  int jwks_min_refetch_seconds = 10;
  int jwks_timeout_ms = 3000;
  int user_cache_ttl_seconds = 30;
  int token_cache_size = 10000;
};

class Authenticator {
 public:
  // A fixed PEM key when options.rs256_public_key is set (an invalid one is an error),
  // otherwise the JWKS at options.certs_url, downloaded in the background: Create does not
  // wait for it, and does not fail when Keycloak is down (KeysLoaded() stays false).
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(const AuthOptions& options,
                                                               UserLookup lookup);
  // For tests: keys from a given store.
  Authenticator(const AuthOptions& options, UserLookup lookup, std::unique_ptr<KeyStore> keys);
  ~Authenticator();

  // header: the value of the `authorization` metadata, nullptr when absent; `deadline`: the
  // call's, which bounds the user lookup.
  // Absent -> UNAUTHENTICATED "No authentication header"; any token or user failure ->
  // UNAUTHENTICATED "Authentication failed" (the reason is logged at debug level, never the
  // token); a `user_id` claim with control characters (a NUL would end it early in C APIs
  // and logs) is a token failure; lookup errors other than not-found pass through (e.g.
  // UNAVAILABLE).
  absl::StatusOr<Caller> Authenticate(const std::string* header,
                                      std::chrono::system_clock::time_point deadline);

  // Authenticate's answer when it needs no waiting (the token and its user are cached, or the
  // header alone is refused); nullopt otherwise (a signature to check, keys or a user to
  // fetch): then call Authenticate where blocking is fine.
  std::optional<absl::StatusOr<Caller>> AuthenticateWithoutWaiting(const std::string* header);

  bool KeysLoaded() const;  // at least one usable key (for health)
  JwksStats Stats() const;  // JWKS download counters (for metrics)
  void Stop();              // ends the JWKS download thread (also done by the destructor)

 private:
  struct CachedToken {
    std::string user_id;
    std::shared_ptr<const PublicKey> key;
  };

  // The header's token, or why it is refused before any verification.
  static absl::StatusOr<std::string> TokenOf(const std::string* header);
  // The user id of a token verified before, while the key that verified it is still current.
  std::optional<std::string> CachedUserId(const std::string& digest,
                                          std::chrono::system_clock::time_point now);
  absl::StatusOr<std::string> VerifiedUserId(const std::string& token,
                                             std::chrono::system_clock::time_point deadline);

  const VerifyOptions options_;
  const std::chrono::seconds user_ttl_;
  UserLookup lookup_;
  std::unique_ptr<KeyStore> keys_;
  TtlLruCache<CachedToken> tokens_;  // by SHA-256 of the token
  TtlLruCache<Caller> users_;        // by user_id
};

}  // namespace zeva::auth
