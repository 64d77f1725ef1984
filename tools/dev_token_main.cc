// zeva-dev-token USER: prints an RS256 token for USER signed with the dev private key, so
// that a developer can call a server started by scripts/run.sh (which configures the
// matching public key). Not for production: real tokens come from Keycloak.

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/jwt_sign.h"
#include "config/option_set.h"
#include "config/server_config.h"

namespace {

struct Options {
  std::string key_path;
  std::string issuer;
  std::string audience;
  std::string kid;
  std::string alg;
  int lifetime_seconds = 3600;
};

zeva::config::OptionSet DevTokenOptions(Options* o) {
  zeva::config::OptionSet options(
      "zeva-dev-token: prints a signed token for USER (dev and tests only).\n"
      "Usage: zeva-dev-token [options] USER");
  options.AddString("key", "ZEVA_DEV_TOKEN_KEY", ".dev/jwt-dev-private.pem",
                    "PEM private key to sign with.", &o->key_path);
  options.AddString("issuer", "KEYCLOAK_ISSUER", zeva::config::kDefaultKeycloakIssuer,
                    "`iss` claim (the server's KEYCLOAK_ISSUER).", &o->issuer);
  options.AddString("audience", "KEYCLOAK_AUDIENCE", zeva::config::kDefaultKeycloakAudience,
                    "`aud` claim (the server's KEYCLOAK_AUDIENCE).", &o->audience);
  options.AddInt("lifetime-seconds", "", 3600, 1, 30 * 86400, "Seconds until `exp`.",
                 &o->lifetime_seconds);
  options.AddString("kid", "", "", "`kid` header (empty: none; a fixed key ignores it).", &o->kid);
  options.AddChoice("alg", "", "RS256", {"RS256", "RS384", "RS512"}, "Signing algorithm.", &o->alg);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  auto options = DevTokenOptions(&o);
  bool help = false;
  auto positional = options.Parse(std::vector<std::string>(argv + 1, argv + argc),
                                  zeva::config::ProcessEnv(), &help);
  if (!positional.ok()) {
    std::cerr << "zeva-dev-token: " << positional.status().message() << "\n";
    return 2;
  }
  if (help) {
    std::cout << options.Help();
    return 0;
  }
  if (positional->size() != 1) {
    std::cerr << "zeva-dev-token: exactly one USER expected (see --help)\n";
    return 2;
  }
  std::ifstream in(o.key_path);
  if (!in) {
    std::cerr << "zeva-dev-token: cannot read " << o.key_path << " (scripts/run.sh creates it)\n";
    return 1;
  }
  std::stringstream key;
  key << in.rdbuf();

  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  nlohmann::json claims = {{"iss", o.issuer},
                           {"aud", o.audience},
                           {"user_id", positional->front()},
                           {"preferred_username", positional->front()},
                           {"iat", now},
                           {"exp", now + o.lifetime_seconds}};
  auto token = zeva::auth::SignJwt(claims, key.str(), o.alg, o.kid);
  if (!token.ok()) {
    std::cerr << "zeva-dev-token: " << token.status().message() << "\n";
    return 1;
  }
  std::cout << *token << "\n";
  return 0;
}
