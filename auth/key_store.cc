#include "auth/key_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/http_get.h"
#include "auth/rsa_key.h"

namespace zeva::auth {
namespace {

std::string KidList(const KeySet& keys) {
  std::string list;
  for (const auto& [kid, key] : keys) list += (list.empty() ? "" : ", ") + kid;
  return list;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::FromPem(const std::string& pem) {
  auto normalized = NormalizeRsaPublicKeyPem(pem);
  if (!normalized.ok()) {
    return absl::InvalidArgumentError(std::string("KEYCLOAK_RS256_PUBLIC_KEY: ") +
                                      std::string(normalized.status().message()));
  }
  KeySet keys;
  keys[""] = std::make_shared<const PublicKey>(PublicKey{"", "", *std::move(normalized)});
  auto store = FromKeySet(std::move(keys));
  store->any_kid_ = true;
  return store;
}

std::unique_ptr<KeyStore> KeyStore::FromKeySet(KeySet keys) {
  std::unique_ptr<KeyStore> store(new KeyStore());
  store->stats_.keys = keys.size();
  store->keys_ = std::make_shared<const KeySet>(std::move(keys));
  return store;
}

std::unique_ptr<KeyStore> KeyStore::FromJwksUrl(JwksOptions options, Fetcher fetcher) {
  std::unique_ptr<KeyStore> store(new KeyStore());
  store->options_ = std::move(options);
  if (!fetcher) {
    fetcher = [](const std::string& url, int timeout_ms) { return HttpGet(url, timeout_ms); };
  }
  store->fetcher_ = std::move(fetcher);
  store->requested_ = true;  // the first download, right away
  store->thread_ = std::thread([s = store.get()] { s->Run(); });
  return store;
}

KeyStore::~KeyStore() { Stop(); }

void KeyStore::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  finished_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const PublicKey> KeyStore::Find(const std::string& kid) const {
  std::shared_ptr<const KeySet> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys = keys_;
  }
  if (any_kid_ || (kid.empty() && keys->size() == 1)) {
    return keys->empty() ? nullptr : keys->begin()->second;
  }
  auto it = keys->find(kid);
  return it == keys->end() ? nullptr : it->second;
}

bool KeyStore::RefetchForUnknownKid(std::chrono::system_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!options_ || stopping_) return false;
  if (!requested_ && !in_progress_) {
    // A download already under way serves this token too; otherwise start one, at most
    // once per min_refetch whatever the number of bad tokens.
    if (last_start_ && Clock::now() - *last_start_ < options_->min_refetch) {
      ++stats_.unknown_kid_rate_limited;
      return false;
    }
    requested_ = true;
    ++stats_.unknown_kid_refetches;
    wake_.notify_all();
  }
  uint64_t generation = generation_;
  const auto call_left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::system_clock::now());
  const auto limit = std::max(std::chrono::milliseconds(0),
                              std::min(call_left, std::chrono::milliseconds(options_->timeout_ms) +
                                                      std::chrono::seconds(1)));
  return finished_.wait_for(lock, limit, [&] { return generation_ != generation || stopping_; }) &&
         generation_ != generation;
}

void KeyStore::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  Clock::time_point next = Clock::now();
  while (!stopping_) {
    if (!requested_ && Clock::now() < next) {
      wake_.wait_until(lock, next, [&] { return requested_ || stopping_; });
      continue;
    }
    requested_ = false;
    in_progress_ = true;
    last_start_ = Clock::now();
    lock.unlock();
    absl::StatusOr<std::string> body = fetcher_(options_->url, options_->timeout_ms);
    absl::StatusOr<KeySet> keys = body.ok() ? ParseJwks(*body) : body.status();
    lock.lock();
    in_progress_ = false;
    if (keys.ok()) {
      std::string kids = KidList(*keys);
      if (kids != loaded_kids_) {
        spdlog::info("auth: JWKS loaded, key ids: {}", kids);
        loaded_kids_ = kids;
      }
      stats_.keys = keys->size();
      keys_ = std::make_shared<const KeySet>(*std::move(keys));
      ++stats_.downloads_ok;
      if (failing_) spdlog::info("auth: JWKS download works again");
      failing_ = false;
      next = *last_start_ + options_->refresh;
    } else {
      ++stats_.download_failures;
      // Warn once per outage; the retries of a long outage go to debug.
      auto level = failing_ ? spdlog::level::debug : spdlog::level::warn;
      spdlog::log(level, "auth: JWKS download from {} failed ({}); {} key(s) still in use",
                  options_->url, std::string(keys.status().message()), stats_.keys);
      failing_ = true;
      // Retry sooner than the regular refresh, but not in a tight loop.
      auto retry =
          std::max<std::chrono::milliseconds>(options_->min_refetch, std::chrono::seconds(1));
      next = *last_start_ + std::min(retry, options_->refresh);
    }
    ++generation_;
    finished_.notify_all();
  }
}

bool KeyStore::KeysLoaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !keys_->empty();
}

JwksStats KeyStore::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace zeva::auth
