// zeva-dev-token, the binary a newcomer runs: its tokens pass the real verifier.

#include <catch2/catch.hpp>
#include <fstream>

#include "absl/strings/ascii.h"
#include "auth/authenticator.h"
#include "config/server_config.h"
#include "tests/support/jwt_test_keys.h"
#include "tests/support/process.h"

TEST_CASE("zeva-dev-token signs tokens the server's verifier accepts", "[auth]") {
  zeva::testing::TempDir dir;
  std::string key_path = dir.path() + "/jwt-dev-private.pem";
  std::ofstream(key_path) << zeva::testing::TestKey(0).private_pem;

  // With the server's default issuer and audience.
  zeva::auth::AuthOptions config;
  config.issuer = zeva::config::kDefaultKeycloakIssuer;
  config.audience = zeva::config::kDefaultKeycloakAudience;
  config.rs256_public_key = zeva::testing::TestKey(0).public_pem;
  auto auth = zeva::auth::Authenticator::Create(config, zeva::testing::AnyUserLookup());
  REQUIRE(auth.ok());

  auto result = zeva::testing::RunCommand({ZEVA_DEV_TOKEN_BINARY, "--key", key_path, "test_vs_2"});
  REQUIRE(result.exit_code == 0);
  std::string header = "Bearer " + std::string(absl::StripAsciiWhitespace(result.output));
  auto caller = (*auth)->Authenticate(&header, zeva::testing::Soon());
  REQUIRE(caller.ok());
  CHECK(caller->user_id == "test_vs_2");

  // Another audience is refused by this server.
  auto other = zeva::testing::RunCommand(
      {ZEVA_DEV_TOKEN_BINARY, "--key", key_path, "--audience", "other", "test_vs_2"});
  REQUIRE(other.exit_code == 0);
  std::string other_header = std::string(absl::StripAsciiWhitespace(other.output));
  CHECK_FALSE((*auth)->Authenticate(&other_header, zeva::testing::Soon()).ok());

  auto missing = zeva::testing::RunCommand(
      {ZEVA_DEV_TOKEN_BINARY, "--key", dir.path() + "/absent.pem", "test_vs_1"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("absent.pem") != std::string::npos);
  CHECK(zeva::testing::RunCommand({ZEVA_DEV_TOKEN_BINARY, "--key", key_path}).exit_code == 2);
}
