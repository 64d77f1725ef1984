// The Authenticator against a JWKS served over HTTP by a local server: download at start,
// refetch on an unknown kid (rate-limited), Keycloak down at start, Keycloak gone later,
// key rotation. Users come from a fake lookup; end-to-end tests go through the real server.

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "auth/authenticator.h"
#include "tests/support/jwks_http_server.h"
#include "tests/support/jwt_test_keys.h"
#include "tests/support/wait_until.h"

using zeva::auth::Authenticator;
using zeva::testing::JwksBody;
using zeva::testing::JwksHttpServer;
using zeva::testing::SignToken;
using zeva::testing::TestKey;

namespace {

std::unique_ptr<Authenticator> JwksAuthenticator(const JwksHttpServer& server,
                                                 int min_refetch_seconds,
                                                 int refresh_seconds = 300) {
  zeva::auth::AuthOptions config = zeva::testing::TestAuthOptions();
  config.certs_url = server.url();
  config.jwks_refresh_seconds = refresh_seconds;
  config.jwks_min_refetch_seconds = min_refetch_seconds;
  config.jwks_timeout_ms = 1000;
  auto auth = Authenticator::Create(config, zeva::testing::AnyUserLookup());
  REQUIRE(auth.ok());
  return *std::move(auth);
}

bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return zeva::testing::WaitUntil(condition, timeout, std::chrono::milliseconds(20));
}

std::string Token(int key, const std::string& kid) {
  return SignToken(zeva::testing::ValidClaims("test_vs_1"), TestKey(key).private_pem, kid);
}

bool Accepted(Authenticator& auth, const std::string& token) {
  std::string header = "Bearer " + token;
  return auth.Authenticate(&header, zeva::testing::Soon()).ok();
}

}  // namespace

TEST_CASE("the JWKS is downloaded once at start and serves tokens by either key", "[auth]") {
  JwksHttpServer server(JwksBody({{"k0", &TestKey(0)}, {"k1", &TestKey(1)}}));
  auto auth = JwksAuthenticator(server, 60);
  REQUIRE(Eventually([&] { return auth->KeysLoaded(); }));
  CHECK(Accepted(*auth, Token(0, "k0")));
  CHECK(Accepted(*auth, Token(1, "k1")));
  CHECK_FALSE(Accepted(*auth, Token(2, "k0")));
  CHECK(server.requests() == 1);
  auto stats = auth->Stats();
  CHECK(stats.downloads_ok == 1);
  CHECK(stats.download_failures == 0);
  CHECK(stats.keys == 2);
}

TEST_CASE("an unknown kid triggers one download, rate-limited against floods", "[auth]") {
  JwksHttpServer server(JwksBody({{"k0", &TestKey(0)}}));
  auto auth = JwksAuthenticator(server, 1);
  REQUIRE(Eventually([&] { return auth->KeysLoaded(); }));
  REQUIRE(server.requests() == 1);

  // Right after the start-up download, a flood of unknown kids downloads nothing more...
  for (int i = 0; i < 20; ++i) CHECK_FALSE(Accepted(*auth, Token(0, "bogus-" + std::to_string(i))));
  CHECK(server.requests() == 1);
  CHECK(auth->Stats().unknown_kid_rate_limited == 20);

  // ...and once min_refetch has passed, a new kid is fetched on demand and accepted at once.
  // Stays a sleep: the time that passes is what is tested (the 1 s min_refetch window).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  server.SetBody(JwksBody({{"k0", &TestKey(0)}, {"k1", &TestKey(1)}}));
  CHECK(Accepted(*auth, Token(1, "k1")));
  CHECK(server.requests() == 2);

  // A flood of bad kids from many threads: at most one more download.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) Accepted(*auth, Token(0, "flood-" + std::to_string(t)));
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(server.requests() <= 3);
  CHECK(auth->Stats().unknown_kid_refetches <= 2);
  CHECK(Accepted(*auth, Token(0, "k0")));
}

TEST_CASE("Keycloak down at start: no keys, tokens refused, recovery when it is up", "[auth]") {
  JwksHttpServer server(JwksBody({{"k0", &TestKey(0)}}));
  server.Stop();  // the port now refuses connections

  auto started = std::chrono::steady_clock::now();
  auto auth = JwksAuthenticator(server, 1);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500));
  REQUIRE(Eventually([&] { return auth->Stats().download_failures >= 1; }));
  CHECK_FALSE(auth->KeysLoaded());
  std::string token = Token(0, "k0");
  CHECK_FALSE(Accepted(*auth, token));

  server.Start();
  REQUIRE(Eventually([&] { return auth->KeysLoaded(); }));
  CHECK(Accepted(*auth, token));
}

TEST_CASE("when Keycloak goes away, the last good keys keep serving", "[auth]") {
  JwksHttpServer server(JwksBody({{"k0", &TestKey(0)}}));
  auto auth = JwksAuthenticator(server, 1, /*refresh_seconds=*/1);
  REQUIRE(Eventually([&] { return auth->KeysLoaded(); }));
  std::string token = Token(0, "k0");

  SECTION("connection refused") { server.Stop(); }
  SECTION("an error status") { server.SetStatus(503); }
  SECTION("a body that is not a JWKS") { server.SetBody("<html>maintenance</html>"); }

  REQUIRE(Eventually([&] { return auth->Stats().download_failures >= 2; }));
  CHECK(auth->KeysLoaded());
  CHECK(auth->Stats().keys == 1);
  CHECK(Accepted(*auth, token));
  auto claims = zeva::testing::ValidClaims("test_vs_2");
  CHECK(Accepted(*auth, SignToken(claims, TestKey(0).private_pem, "k0")));
}

TEST_CASE("key rotation: the new kid is accepted after one refresh, the old one dropped",
          "[auth]") {
  JwksHttpServer server(JwksBody({{"old", &TestKey(0)}}));
  auto auth = JwksAuthenticator(server, 60, /*refresh_seconds=*/1);
  REQUIRE(Eventually([&] { return auth->KeysLoaded(); }));
  std::string old_token = Token(0, "old");
  REQUIRE(Accepted(*auth, old_token));  // now also in the token cache

  server.SetBody(JwksBody({{"new", &TestKey(1)}}));
  int before = server.requests();
  REQUIRE(Eventually([&] {
    return server.requests() > before && auth->Stats().keys == 1 &&
           Accepted(*auth, Token(1, "new"));
  }));
  CHECK_FALSE(Accepted(*auth, old_token));  // the cached verification goes with its key
}
