// The token verifier and Authenticator with real RSA keys, keys given directly (fixed PEM or
// a parsed JWKS); JWKS downloads are tested in integration/auth_jwks_test.cc.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

#include "auth/authenticator.h"
#include "auth/base64url.h"
#include "auth/jwks.h"
#include "auth/jwt_sign.h"
#include "auth/rsa_key.h"
#include "auth/token_verifier.h"
#include "tests/support/jwt_test_keys.h"

using zeva::auth::Authenticator;
using zeva::auth::Caller;
using zeva::auth::KeyStore;
using zeva::testing::JwksBody;
using zeva::testing::NowSeconds;
using zeva::testing::SignToken;
using zeva::testing::TestKey;
using zeva::testing::UnsignedToken;

using zeva::testing::kTestAudience;
using zeva::testing::kTestIssuer;
using zeva::testing::TestAuthOptions;

namespace {

nlohmann::json Claims(const std::string& user = "test_vs_1") {
  return zeva::testing::ValidClaims(user);
}

// A user table of two users; counts lookups.
struct FakeUsers {
  std::atomic<int> lookups{0};
  bool database_down = false;
  zeva::auth::UserLookup Lookup() {
    return [this](const std::string& user_id,
                  std::chrono::system_clock::time_point) -> absl::StatusOr<std::optional<Caller>> {
      ++lookups;
      if (database_down) return absl::UnavailableError("database unavailable");
      if (user_id == "test_vs_1") {
        return Caller{"test_vs_1",
                      1,
                      "Test Vehicle Supplier 1",
                      zeva::auth::OrganizationType::kVehicleSupplier,
                      {},
                      ""};
      }
      if (user_id == "gov_1") {
        return Caller{"gov_1", 7, "Government", zeva::auth::OrganizationType::kGovernment, {}, ""};
      }
      return std::optional<Caller>();
    };
  }
};

// An Authenticator with key 0 as the fixed KEYCLOAK_RS256_PUBLIC_KEY.
std::unique_ptr<Authenticator> FixedKeyAuthenticator(
    FakeUsers& users, zeva::auth::AuthOptions config = TestAuthOptions()) {
  config.rs256_public_key = TestKey(0).public_pem;
  auto auth = Authenticator::Create(config, users.Lookup());
  REQUIRE(auth.ok());
  return *std::move(auth);
}

// An Authenticator with a JWKS of key 0 (kid "k0") and key 1 (kid "k1"), no downloads.
std::unique_ptr<Authenticator> JwksAuthenticator(FakeUsers& users) {
  auto keys = zeva::auth::ParseJwks(JwksBody({{"k0", &TestKey(0)}, {"k1", &TestKey(1)}}));
  REQUIRE(keys.ok());
  return std::make_unique<Authenticator>(TestAuthOptions(), users.Lookup(),
                                         KeyStore::FromKeySet(*std::move(keys)));
}

// Checks the contract's generic refusal.
void RequireFailed(const absl::StatusOr<Caller>& result) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(result.status().message() == "Authentication failed");
}

absl::StatusOr<Caller> Call(Authenticator& auth, const std::string& header) {
  return auth.Authenticate(&header, zeva::testing::Soon());
}

}  // namespace

TEST_CASE("base64url decodes strictly and round-trips", "[auth]") {
  using zeva::auth::Base64UrlDecode;
  using zeva::auth::Base64UrlEncode;
  for (std::string text : {"", "a", "ab", "abc", "abcd", "\xff\xfe\x00 binary?"}) {
    CHECK(Base64UrlDecode(Base64UrlEncode(text)) == text);
  }
  CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(Base64UrlDecode("-_8") == std::string("\xfb\xff"));
  CHECK_FALSE(Base64UrlDecode("ab+c").has_value());
  CHECK_FALSE(Base64UrlDecode("ab c").has_value());
  CHECK_FALSE(Base64UrlDecode("abcde").has_value());
}

TEST_CASE("a JWK's modulus and exponent give the same public key", "[auth]") {
  const auto& key = TestKey(0);
  auto pem = zeva::auth::RsaPublicKeyPemFromJwk(key.n, key.e);
  REQUIRE(pem.ok());
  CHECK(*pem == key.public_pem);
  CHECK_FALSE(zeva::auth::RsaPublicKeyPemFromJwk("not base64!", key.e).ok());
  // A 512-bit modulus is refused.
  CHECK_FALSE(zeva::auth::RsaPublicKeyPemFromJwk(key.n.substr(0, 86), key.e).ok());
}

TEST_CASE("the fixed key is accepted as PEM, escaped PEM or bare base64", "[auth]") {
  const std::string& pem = TestKey(1).public_pem;
  using zeva::auth::NormalizeRsaPublicKeyPem;
  CHECK(NormalizeRsaPublicKeyPem(pem).value() == pem);
  std::string escaped;
  for (char c : pem) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
  CHECK(NormalizeRsaPublicKeyPem(escaped).value() == pem);
  std::string body = pem.substr(pem.find('\n') + 1);
  body = body.substr(0, body.find("-----END"));
  CHECK(NormalizeRsaPublicKeyPem(body).value() == pem);
  body.erase(std::remove(body.begin(), body.end(), '\n'), body.end());  // one line
  CHECK(NormalizeRsaPublicKeyPem(body).value() == pem);
  CHECK_FALSE(NormalizeRsaPublicKeyPem("garbage").ok());
  CHECK_FALSE(NormalizeRsaPublicKeyPem(TestKey(1).private_pem).ok());

  FakeUsers users;
  auto config = TestAuthOptions();
  config.rs256_public_key = "not a key";
  CHECK(Authenticator::Create(config, users.Lookup()).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a JWKS keeps only RSA signing keys", "[auth]") {
  const auto& key = TestKey(0);
  nlohmann::json jwks = {
      {"keys",
       {{{"kid", "sig"},
         {"kty", "RSA"},
         {"alg", "RS256"},
         {"use", "sig"},
         {"n", key.n},
         {"e", key.e}},
        {{"kid", "enc"},
         {"kty", "RSA"},
         {"alg", "RSA-OAEP"},
         {"use", "enc"},
         {"n", key.n},
         {"e", key.e}},
        {{"kid", "ec"}, {"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}},
        {{"kid", "hs"}, {"kty", "oct"}, {"k", "c2VjcmV0"}},
        {{"kid", "bad"}, {"kty", "RSA"}, {"n", "!!"}, {"e", key.e}},
        {{"kty", "RSA"}, {"n", key.n}, {"e", key.e}}}}};
  auto keys = zeva::auth::ParseJwks(jwks.dump());
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 1);
  CHECK(keys->count("sig") == 1);
  CHECK(keys->at("sig")->pem == key.public_pem);
  CHECK_FALSE(zeva::auth::ParseJwks("{\"keys\": []}").ok());
  CHECK_FALSE(zeva::auth::ParseJwks("<html>").ok());
  CHECK_FALSE(zeva::auth::ParseJwks("[]").ok());
}

TEST_CASE("a valid token is accepted with and without the Bearer prefix", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  std::string token = SignToken(Claims(), TestKey(0).private_pem, "");
  for (const std::string& header : {token, "Bearer " + token, "bearer " + token}) {
    auto caller = Call(*auth, header);
    REQUIRE(caller.ok());
    CHECK(caller->user_id == "test_vs_1");
    CHECK(caller->organization_id == 1);
    CHECK(caller->organization_name == "Test Vehicle Supplier 1");
    CHECK(caller->organization_type == zeva::auth::OrganizationType::kVehicleSupplier);
  }
  CHECK(auth->KeysLoaded());

  auto gov = Call(*auth, SignToken(Claims("gov_1"), TestKey(0).private_pem, "any-kid", "RS512"));
  REQUIRE(gov.ok());
  CHECK(gov->organization_type == zeva::auth::OrganizationType::kGovernment);
}

TEST_CASE("the audience may be a string or an array that contains it", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  auto claims = Claims();
  claims["aud"] = nlohmann::json::array({"account", kTestAudience});
  CHECK(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")).ok());
  claims["aud"] = kTestAudience;
  CHECK(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")).ok());
  claims["aud"] = nlohmann::json::array({"account", "other"});
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
  claims["aud"] = "other";
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
  claims.erase("aud");
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
}

TEST_CASE("with two keys in the JWKS, tokens by either are accepted", "[auth]") {
  FakeUsers users;
  auto auth = JwksAuthenticator(users);
  CHECK(Call(*auth, SignToken(Claims(), TestKey(0).private_pem, "k0")).ok());
  CHECK(Call(*auth, SignToken(Claims(), TestKey(1).private_pem, "k1")).ok());
  SECTION("a kid naming the other key is refused") {
    RequireFailed(Call(*auth, SignToken(Claims(), TestKey(1).private_pem, "k0")));
  }
  SECTION("an unknown kid is refused") {
    RequireFailed(Call(*auth, SignToken(Claims(), TestKey(0).private_pem, "k9")));
  }
  SECTION("no kid is refused when the JWKS holds several keys") {
    RequireFailed(Call(*auth, SignToken(Claims(), TestKey(0).private_pem, "")));
  }
}

TEST_CASE("a missing header and an empty one are refused", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  auto none = auth->Authenticate(nullptr, zeva::testing::Soon());
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(none.status().message() == "No authentication header");
  RequireFailed(Call(*auth, ""));
  RequireFailed(Call(*auth, "Bearer "));
  RequireFailed(Call(*auth, "   "));
  CHECK(users.lookups == 0);
}

TEST_CASE("garbage and oversized headers are refused", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  for (const std::string& garbage : std::vector<std::string>{
           "garbage", "a.b.c", "a.b", "....", "Bearer x.y.z", "eyJhbGciOiJSUzI1NiJ9..",
           "eyJhbGciOjF9.e30.c2ln", "bnVsbA.e30.c2ln", std::string("\xff\xfe.\x80.\x01\0", 7),
           "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"}) {
    RequireFailed(Call(*auth, garbage));
  }
  std::string valid = SignToken(Claims(), TestKey(0).private_pem, "");
  RequireFailed(Call(*auth, std::string(1 << 20, 'a')));
  RequireFailed(Call(*auth, valid + std::string(zeva::auth::kMaxTokenBytes, ' ')));
  CHECK(users.lookups == 0);
}

// Found by tests/fuzz/jwt_fuzz.cc: cpp-jwt decoded the payload and signature with undefined
// behaviour (negative shifts; reads before its table for bytes above 0x7f) when they held
// anything but base64url, so such tokens must be refused before it sees them.
TEST_CASE("a token with bytes outside base64url never reaches cpp-jwt", "[auth]") {
  auto keys = KeyStore::FromPem(TestKey(0).public_pem);
  REQUIRE(keys.ok());
  const zeva::auth::VerifyOptions options{kTestIssuer, kTestAudience, 30};
  std::string valid = SignToken(Claims(), TestKey(0).private_pem, "");
  REQUIRE(zeva::auth::VerifyToken(valid, **keys, options).ok());
  const size_t payload = valid.find('.') + 1;
  for (char bad : {',', '=', '+', '/', ' ', '\0', '\x80', '\xff'}) {
    std::string token = valid;
    token[payload + 3] = bad;
    auto verified = zeva::auth::VerifyToken(token, **keys, options);
    REQUIRE_FALSE(verified.ok());
    CHECK(verified.status().message() == "not a JWS (characters)");
  }
}

TEST_CASE("a token signed by another key is refused", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  RequireFailed(Call(*auth, SignToken(Claims(), TestKey(2).private_pem, "")));
}

TEST_CASE("a tampered payload is refused", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  std::string token = SignToken(Claims("test_vs_2"), TestKey(0).private_pem, "");
  size_t first = token.find('.');
  size_t second = token.rfind('.');
  auto forged = Claims("test_vs_1");
  std::string tampered = token.substr(0, first + 1) + zeva::auth::Base64UrlEncode(forged.dump()) +
                         token.substr(second);
  RequireFailed(Call(*auth, tampered));
}

TEST_CASE("exp and nbf are checked with the clock skew", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);  // skew 30 s
  const std::string& key = TestKey(0).private_pem;
  auto claims = Claims();
  SECTION("expired") {
    claims["exp"] = NowSeconds() - 60;
    RequireFailed(Call(*auth, SignToken(claims, key, "")));
  }
  SECTION("expired within the skew is still accepted") {
    claims["exp"] = NowSeconds() - 10;
    CHECK(Call(*auth, SignToken(claims, key, "")).ok());
  }
  SECTION("not yet valid") {
    claims["nbf"] = NowSeconds() + 120;
    RequireFailed(Call(*auth, SignToken(claims, key, "")));
  }
  SECTION("valid soon, within the skew") {
    claims["nbf"] = NowSeconds() + 10;
    CHECK(Call(*auth, SignToken(claims, key, "")).ok());
  }
  SECTION("nbf 0, as Keycloak sends it") {
    claims["nbf"] = 0;
    CHECK(Call(*auth, SignToken(claims, key, "")).ok());
  }
  SECTION("no exp") {
    claims.erase("exp");
    RequireFailed(Call(*auth, SignToken(claims, key, "")));
  }
  SECTION("exp not a number, or negative") {
    claims["exp"] = std::to_string(NowSeconds() + 300);
    RequireFailed(Call(*auth, SignToken(claims, key, "")));
    claims["exp"] = -1;
    RequireFailed(Call(*auth, SignToken(claims, key, "")));
  }
}

TEST_CASE("a wrong issuer is refused", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  auto claims = Claims();
  claims["iss"] = "https://evil.test/auth/realms/zeva";
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
  claims.erase("iss");
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
  claims["iss"] = nlohmann::json::array({kTestIssuer});
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
}

TEST_CASE("a token without a user_id is refused", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  auto claims = Claims();
  claims.erase("user_id");
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
  claims["user_id"] = 42;
  RequireFailed(Call(*auth, SignToken(claims, TestKey(0).private_pem, "")));
}

TEST_CASE("alg none is refused", "[auth]") {
  FakeUsers users;
  auto fixed = FixedKeyAuthenticator(users);
  auto jwks = JwksAuthenticator(users);
  for (std::string alg : {"none", "None", "NONE"}) {
    for (nlohmann::json header : {nlohmann::json{{"alg", alg}, {"typ", "JWT"}},
                                  nlohmann::json{{"alg", alg}, {"typ", "JWT"}, {"kid", "k0"}}}) {
      std::string token = UnsignedToken(header, Claims());
      RequireFailed(Call(*fixed, token));
      RequireFailed(Call(*jwks, token));
      RequireFailed(Call(*fixed, token + "c2ln"));  // with some signature bytes
    }
  }
  CHECK(users.lookups == 0);
}

TEST_CASE("HS256 signed with the RSA public key's bytes is refused", "[auth]") {
  FakeUsers users;
  auto fixed = FixedKeyAuthenticator(users);
  auto jwks = JwksAuthenticator(users);
  const std::string& public_pem = TestKey(0).public_pem;
  for (std::string alg : {"HS256", "HS384", "HS512"}) {
    RequireFailed(Call(*fixed, SignToken(Claims(), public_pem, "", alg)));
    RequireFailed(Call(*jwks, SignToken(Claims(), public_pem, "k0", alg)));
  }
  CHECK(users.lookups == 0);
}

TEST_CASE("an unknown user is refused; a database failure passes through", "[auth]") {
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  RequireFailed(Call(*auth, SignToken(Claims("nobody"), TestKey(0).private_pem, "")));
  users.database_down = true;
  auto down = Call(*auth, SignToken(Claims(), TestKey(0).private_pem, ""));
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("users are cached for the TTL; 0 disables the cache", "[auth][auth_cache]") {
  FakeUsers users;
  std::string token = SignToken(Claims(), TestKey(0).private_pem, "");
  SECTION("TTL 30 s: one lookup") {
    auto auth = FixedKeyAuthenticator(users);
    for (int i = 0; i < 3; ++i) REQUIRE(Call(*auth, token).ok());
    CHECK(users.lookups == 1);
  }
  SECTION("TTL 0: a lookup per call") {
    auto config = TestAuthOptions();
    config.user_cache_ttl_seconds = 0;
    auto auth = FixedKeyAuthenticator(users, config);
    for (int i = 0; i < 3; ++i) REQUIRE(Call(*auth, token).ok());
    CHECK(users.lookups == 3);
  }
  SECTION("not-found and failures are not cached") {
    auto auth = FixedKeyAuthenticator(users);
    std::string nobody = SignToken(Claims("nobody"), TestKey(0).private_pem, "");
    RequireFailed(Call(*auth, nobody));
    RequireFailed(Call(*auth, nobody));
    CHECK(users.lookups == 2);
  }
}

TEST_CASE("a cached token is never accepted past its exp", "[auth][auth_cache]") {
  FakeUsers users;
  auto config = TestAuthOptions();
  config.clock_skew_seconds = 0;
  config.user_cache_ttl_seconds = 0;
  auto auth = FixedKeyAuthenticator(users, config);
  auto claims = Claims();
  claims["exp"] = NowSeconds() + 1;
  std::string token = SignToken(claims, TestKey(0).private_pem, "");
  REQUIRE(Call(*auth, token).ok());
  REQUIRE(Call(*auth, token).ok());  // from the cache
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  RequireFailed(Call(*auth, token));
}

TEST_CASE("many threads authenticate at once", "[auth][auth_cache]") {
  FakeUsers users;
  auto auth = JwksAuthenticator(users);
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    tokens.push_back(SignToken(Claims(), TestKey(i % 2).private_pem, i % 2 ? "k1" : "k0"));
  }
  tokens.push_back(SignToken(Claims(), TestKey(2).private_pem, "k0"));  // bad
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string& token = tokens[static_cast<size_t>(t + i) % tokens.size()];
        (Call(*auth, token).ok() ? accepted : refused)++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(accepted == 320);
  CHECK(refused == 80);
}

TEST_CASE("refusals are logged at debug level with a reason, never with the token", "[auth]") {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("auth-test", sink);
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);

  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  auto claims = Claims();
  claims["exp"] = NowSeconds() - 3600;
  std::string expired = SignToken(claims, TestKey(0).private_pem, "");
  std::string other_key = SignToken(Claims(), TestKey(2).private_pem, "");
  std::string hs256 = SignToken(Claims(), TestKey(0).public_pem, "", "HS256");
  RequireFailed(Call(*auth, expired));
  RequireFailed(Call(*auth, "Bearer " + other_key));
  RequireFailed(Call(*auth, hs256));
  spdlog::set_default_logger(previous);

  std::string text = log.str();
  CHECK(text.find("expired") != std::string::npos);
  CHECK(text.find("bad signature") != std::string::npos);
  CHECK(text.find("HS256") != std::string::npos);
  for (const std::string& token : {expired, other_key, hs256}) {
    CHECK(text.find(token) == std::string::npos);
    CHECK(text.find(token.substr(token.rfind('.') + 1)) == std::string::npos);  // signature
    CHECK(text.find(token.substr(0, token.find('.'))) == std::string::npos);    // header
  }
}

TEST_CASE("without waiting, a caller is known only once its token and user are cached", "[auth]") {
  // The callback API's handlers must never block: AuthenticateWithoutWaiting answers only
  // what needs no signature check and no user lookup, and says "not now" for the rest.
  FakeUsers users;
  auto auth = FixedKeyAuthenticator(users);
  const std::string header = "Bearer " + SignToken(Claims(), TestKey(0).private_pem, "");

  CHECK_FALSE(auth->AuthenticateWithoutWaiting(&header).has_value());  // nothing cached yet
  CHECK(users.lookups == 0);
  REQUIRE(Call(*auth, header).ok());  // verifies, looks the user up, caches both
  CHECK(users.lookups == 1);
  auto known = auth->AuthenticateWithoutWaiting(&header);
  REQUIRE(known.has_value());
  REQUIRE(known->ok());
  CHECK((*known)->user_id == "test_vs_1");
  CHECK((*known)->organization_id == 1);
  CHECK(users.lookups == 1);

  // Another token of the same user still needs its signature checked.
  const std::string other = SignToken(Claims(), TestKey(0).private_pem, "other-kid");
  CHECK_FALSE(auth->AuthenticateWithoutWaiting(&other).has_value());

  // Refusals that need nothing but the header come at once.
  auto absent = auth->AuthenticateWithoutWaiting(nullptr);
  REQUIRE(absent.has_value());
  CHECK(absent->status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(absent->status().message() == "No authentication header");
  for (const std::string& bad : {std::string(), std::string(zeva::auth::kMaxTokenBytes + 1, 'a')}) {
    auto refused = auth->AuthenticateWithoutWaiting(&bad);
    REQUIRE(refused.has_value());
    RequireFailed(*refused);
  }
}

TEST_CASE("without a user cache, no caller is ever known without waiting", "[auth]") {
  FakeUsers users;
  auto config = TestAuthOptions();
  config.user_cache_ttl_seconds = 0;
  auto auth = FixedKeyAuthenticator(users, config);
  const std::string header = SignToken(Claims(), TestKey(0).private_pem, "");
  REQUIRE(Call(*auth, header).ok());
  REQUIRE(Call(*auth, header).ok());
  CHECK(users.lookups == 2);
  CHECK_FALSE(auth->AuthenticateWithoutWaiting(&header).has_value());
}
