#include "config/server_config.h"

#include <catch2/catch.hpp>
#include <map>

#include "tests/support/fake_env.h"

using zeva::config::ParseServerConfig;

using zeva::testing::FakeEnv;

namespace {
const std::map<std::string, std::string> kMinimalEnv = {
    {"DATABASE_URL", "postgresql://zeva:zevadev@postgres/zeva"},
    {"KEYCLOAK_CERTS_URL", "http://keycloak:8080/auth/realms/zeva/protocol/openid-connect/certs"},
};
}  // namespace

TEST_CASE("server configuration comes from the contract's environment variables", "[config]") {
  auto env = kMinimalEnv;
  env["KEYCLOAK_ISSUER"] = "https://sso/auth/realms/zeva";
  env["KEYCLOAK_AUDIENCE"] = "zeva-frontend";
  env["PORT"] = "9000";
  auto parsed = ParseServerConfig({}, FakeEnv(env));
  REQUIRE(parsed.ok());
  const auto& c = parsed->config;
  CHECK(c.port == 9000);
  CHECK(c.database_url == "postgresql://zeva:zevadev@postgres/zeva");
  CHECK(c.keycloak.issuer == "https://sso/auth/realms/zeva");
  CHECK(c.keycloak.audience == "zeva-frontend");
  CHECK(c.keycloak.certs_url.find("/certs") != std::string::npos);
}

TEST_CASE("server defaults match the old deployment", "[config]") {
  auto parsed = ParseServerConfig({}, FakeEnv(kMinimalEnv));
  REQUIRE(parsed.ok());
  CHECK(parsed->config.port == 10102);
  CHECK(parsed->config.listen_address == "0.0.0.0");
  CHECK(parsed->config.keycloak.issuer == "http://localhost:8888/auth/realms/zeva");
  CHECK(parsed->config.keycloak.audience == "zeva-app");
  CHECK(parsed->config.log_format == "plain");
}

TEST_CASE("server configuration refuses what cannot work", "[config]") {
  auto no_db = ParseServerConfig({}, FakeEnv({{"KEYCLOAK_CERTS_URL", "http://k/certs"}}));
  REQUIRE_FALSE(no_db.ok());
  CHECK(std::string(no_db.status().message()).find("DATABASE_URL") != std::string::npos);

  auto no_key = ParseServerConfig({}, FakeEnv({{"DATABASE_URL", "postgresql://x/y"}}));
  REQUIRE_FALSE(no_key.ok());
  CHECK(std::string(no_key.status().message()).find("KEYCLOAK") != std::string::npos);

  auto bad_port = ParseServerConfig({"--port=70000"}, FakeEnv(kMinimalEnv));
  REQUIRE_FALSE(bad_port.ok());
  auto stray = ParseServerConfig({"serve"}, FakeEnv(kMinimalEnv));
  REQUIRE_FALSE(stray.ok());
  auto bad_format = ParseServerConfig({"--log-format=xml"}, FakeEnv(kMinimalEnv));
  REQUIRE_FALSE(bad_format.ok());
}

TEST_CASE("--help needs no other configuration and lists every variable", "[config]") {
  auto parsed = ParseServerConfig({"--help"}, FakeEnv({}));
  REQUIRE(parsed.ok());
  CHECK(parsed->help_requested);
  const std::string help = zeva::config::ServerHelp();
  for (const char* env :
       {"DATABASE_URL", "PORT", "KEYCLOAK_CERTS_URL", "KEYCLOAK_REALM", "KEYCLOAK_AUTHORITY",
        "KEYCLOAK_ISSUER", "KEYCLOAK_AUDIENCE", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_RS256_PUBLIC_KEY",
        "LOG_LEVEL", "LOG_FORMAT"}) {
    CHECK(help.find(std::string("[env ") + env + "]") != std::string::npos);
  }
}

TEST_CASE("bounds on the database and on calls without a deadline are configurable", "[config]") {
  auto defaults = ParseServerConfig({}, FakeEnv(kMinimalEnv));
  REQUIRE(defaults.ok());
  CHECK(defaults->config.default_deadline_ms == 30000);
  CHECK(defaults->config.db_pool_caller_share_percent == 50);
  CHECK(defaults->config.db_probe_timeout_ms == 2000);
  // The defaults live in the struct; --help shows the same values.
  const std::string help = zeva::config::ServerHelp();
  CHECK(help.find("DEFAULT_DEADLINE_MS") != std::string::npos);
  CHECK(help.find("30000") != std::string::npos);
  CHECK(help.find("DB_POOL_CALLER_SHARE_PERCENT") != std::string::npos);
  CHECK(help.find("--db-peer-timeout-ms") != std::string::npos);
  CHECK(help.find("DB_PEER_TIMEOUT_MS") != std::string::npos);
  CHECK(help.find("http://localhost:8888/auth/realms/zeva") != std::string::npos);

  auto env = kMinimalEnv;
  env["DEFAULT_DEADLINE_MS"] = "5000";
  env["DB_POOL_CALLER_SHARE_PERCENT"] = "25";
  env["DB_PEER_TIMEOUT_MS"] = "2000";
  auto parsed = ParseServerConfig({"--db-probe-timeout-ms=700"}, FakeEnv(env));
  REQUIRE(parsed.ok());
  CHECK(parsed->config.db_peer_timeout_ms == 2000);
  CHECK(parsed->config.default_deadline_ms == 5000);
  CHECK(parsed->config.db_pool_caller_share_percent == 25);
  CHECK(parsed->config.db_probe_timeout_ms == 700);
  env["DB_POOL_CALLER_SHARE_PERCENT"] = "0";
  CHECK_FALSE(ParseServerConfig({}, FakeEnv(env)).ok());
}

TEST_CASE("the server's pollers and read cache are configurable, and checked", "[config]") {
  auto defaults = ParseServerConfig({}, FakeEnv(kMinimalEnv));
  REQUIRE(defaults.ok());
  CHECK(defaults->config.min_pollers == 16);
  CHECK(defaults->config.max_pollers == 32);
  CHECK(defaults->config.read_cache);
  const std::string help = zeva::config::ServerHelp();
  CHECK(help.find("MIN_POLLERS") != std::string::npos);
  CHECK(help.find("READ_CACHE") != std::string::npos);

  auto env = kMinimalEnv;
  env["MIN_POLLERS"] = "4";
  env["READ_CACHE"] = "false";
  auto parsed = ParseServerConfig({"--max-pollers=8"}, FakeEnv(env));
  REQUIRE(parsed.ok());
  CHECK(parsed->config.min_pollers == 4);
  CHECK(parsed->config.max_pollers == 8);
  CHECK_FALSE(parsed->config.read_cache);

  env["MIN_POLLERS"] = "9";  // more than --max-pollers
  auto inverted = ParseServerConfig({"--max-pollers=8"}, FakeEnv(env));
  REQUIRE_FALSE(inverted.ok());
  CHECK(std::string(inverted.status().message()).find("MIN_POLLERS") != std::string::npos);
  env["MIN_POLLERS"] = "4";
  env["MAX_THREADS"] = "16";  // no thread left for calls
  CHECK_FALSE(ParseServerConfig({"--max-pollers=16"}, FakeEnv(env)).ok());
}
