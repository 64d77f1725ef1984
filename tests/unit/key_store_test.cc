// The JWKS key store's download thread against concurrent lookups and refetch requests, with
// an injected fetcher (also run under TSan: scripts/sanitize.sh tsan). Downloads over HTTP
// are tested in integration/auth_jwks_test.cc.

#include "auth/key_store.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/support/jwt_test_keys.h"

using zeva::auth::KeyStore;
using zeva::testing::JwksBody;
using zeva::testing::TestKey;

namespace {

// Serves kid k0 until `rotated`, then k0 and k1; counts downloads.
struct RotatingJwks {
  std::atomic<bool> rotated{false};
  std::atomic<int> downloads{0};
  KeyStore::Fetcher Fetcher() {
    return [this](const std::string&, int) -> absl::StatusOr<std::string> {
      ++downloads;
      if (!rotated) return JwksBody({{"k0", &TestKey(0)}});
      return JwksBody({{"k0", &TestKey(0)}, {"k1", &TestKey(1)}});
    };
  }
};

KeyStore::JwksOptions Options() {
  KeyStore::JwksOptions options;
  options.url = "http://jwks.test/certs";
  options.min_refetch = std::chrono::milliseconds(0);
  options.timeout_ms = 2000;
  return options;
}

bool WaitFor(const std::function<bool()>& condition) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

TEST_CASE("a rotated key is found by lookups racing with refetches", "[key_store]") {
  RotatingJwks jwks;
  auto store = KeyStore::FromJwksUrl(Options(), jwks.Fetcher());
  REQUIRE(WaitFor([&] { return store->KeysLoaded(); }));
  CHECK(store->Find("k0") != nullptr);
  CHECK(store->Find("k1") == nullptr);

  jwks.rotated = true;
  std::atomic<int> found{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&] {
      if (WaitFor([&] { return store->Find("k1") != nullptr || store->RefetchForUnknownKid(); })) {
        ++found;
      }
      CHECK(store->Find("k0") != nullptr);
      store->Stats();
    });
  }
  for (auto& caller : callers) caller.join();
  CHECK(found == 6);
  CHECK(store->Find("k1") != nullptr);
  CHECK(store->Stats().keys == 2);
  CHECK(jwks.downloads >= 2);
}

TEST_CASE("stopping the store while callers wait for a download", "[key_store]") {
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);  // the failed downloads warn
  std::atomic<int> downloads{0};
  auto store = KeyStore::FromJwksUrl(Options(), [&](const std::string&, int) {
    ++downloads;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return absl::StatusOr<std::string>(absl::UnavailableError("down"));
  });
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      // Each returns once a (failed) download finished or the store stopped.
      for (int i = 0; i < 5; ++i) store->RefetchForUnknownKid();
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  store->Stop();
  for (auto& caller : callers) caller.join();
  CHECK_FALSE(store->KeysLoaded());
  CHECK(downloads >= 1);
  spdlog::set_level(level);
}

TEST_CASE("a call waits for an unknown kid's download no longer than its deadline", "[key_store]") {
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  std::atomic<bool> release{false};
  auto store = KeyStore::FromJwksUrl(Options(), [&](const std::string&, int) {
    // A JWKS endpoint that hangs (up to the download timeout, 2 s here at most).
    for (int i = 0; i < 200 && !release; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::StatusOr<std::string>(absl::UnavailableError("slow"));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first download is under way
  const auto started = std::chrono::steady_clock::now();
  const bool found = store->RefetchForUnknownKid(std::chrono::system_clock::now() +
                                                 std::chrono::milliseconds(200));
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK_FALSE(found);
  CHECK(waited < std::chrono::milliseconds(1000));
  CHECK(waited >= std::chrono::milliseconds(150));
  // A deadline already past does not wait at all.
  const auto again = std::chrono::steady_clock::now();
  CHECK_FALSE(store->RefetchForUnknownKid(std::chrono::system_clock::now()));
  CHECK(std::chrono::steady_clock::now() - again < std::chrono::milliseconds(100));
  release = true;
  store->Stop();
  spdlog::set_level(level);
}
