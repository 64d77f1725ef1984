#pragma once
// The keys tokens are verified with: either one fixed PEM key, or the realm's JWKS,
// downloaded by a background thread (at start, on a timer, and on demand when a token names
// an unknown kid, rate-limited). Downloads never happen on more than one thread, and a
// failed one keeps the last good keys serving.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "auth/jwks.h"

namespace zeva::auth {

// Counters for metrics; each only grows.
struct JwksStats {
  uint64_t downloads_ok = 0;              // downloads that replaced the key set
  uint64_t download_failures = 0;         // unreachable, bad status, or no usable key
  uint64_t unknown_kid_refetches = 0;     // downloads asked for by a token's unknown kid
  uint64_t unknown_kid_rate_limited = 0;  // such requests refused by the rate limit
  size_t keys = 0;                        // keys held now
};

class KeyStore {
 public:
  // GETs a URL within timeout_ms; injectable for tests. Default: HttpGet (libcurl).
  using Fetcher =
      std::function<absl::StatusOr<std::string>(const std::string& url, int timeout_ms)>;
  struct JwksOptions {
    std::string url;
    std::chrono::milliseconds refresh{std::chrono::seconds(300)};
    std::chrono::milliseconds min_refetch{std::chrono::seconds(10)};
    int timeout_ms = 3000;
  };

  // One fixed key that verifies every token, whatever its kid.
  static absl::StatusOr<std::unique_ptr<KeyStore>> FromPem(const std::string& pem);
  // A fixed set (no downloads); for tests.
  static std::unique_ptr<KeyStore> FromKeySet(KeySet keys);
  // Starts the download thread; returns at once (keys arrive later, see KeysLoaded).
  static std::unique_ptr<KeyStore> FromJwksUrl(JwksOptions options, Fetcher fetcher = nullptr);

  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // The key for `kid`; an empty kid finds the key only when exactly one is held.
  std::shared_ptr<const PublicKey> Find(const std::string& kid) const;

  // A token named a kid that Find does not know: unless a download started less than
  // min_refetch ago, has the thread download now and waits for it (at most about the
  // download timeout, and never past `deadline`, the call's: the download goes on for later
  // calls). Returns true when a download finished meanwhile.
  bool RefetchForUnknownKid(std::chrono::system_clock::time_point deadline =
                                std::chrono::system_clock::time_point::max());

  bool KeysLoaded() const;
  JwksStats Stats() const;
  void Stop();  // ends the download thread; idempotent

 private:
  using Clock = std::chrono::steady_clock;
  KeyStore() = default;
  void Run();

  mutable std::mutex mu_;
  std::condition_variable wake_;      // the thread: a download was asked for, or stop
  std::condition_variable finished_;  // callers: a download finished
  std::shared_ptr<const KeySet> keys_ = std::make_shared<const KeySet>();
  bool any_kid_ = false;  // fixed key: matches every kid

  // JWKS mode only.
  std::optional<JwksOptions> options_;
  Fetcher fetcher_;
  bool stopping_ = false;
  bool requested_ = false;
  bool in_progress_ = false;
  std::optional<Clock::time_point> last_start_;
  uint64_t generation_ = 0;  // downloads finished
  JwksStats stats_;
  std::string loaded_kids_;  // for logging changes only
  bool failing_ = false;     // the last download failed
  std::thread thread_;
};

}  // namespace zeva::auth
