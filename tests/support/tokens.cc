#include "tests/support/tokens.h"

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "auth/jwt_sign.h"
#include "tests/support/process.h"

namespace zeva::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

KeyPair MakeKeyPair() {
  TempDir dir;
  const std::string private_path = dir.path() + "/private.pem";
  const std::string public_path = dir.path() + "/public.pem";
  CommandResult made = RunCommand({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                   "rsa_keygen_bits:2048", "-out", private_path});
  CommandResult pub =
      RunCommand({"openssl", "pkey", "-in", private_path, "-pubout", "-out", public_path});
  if (made.exit_code != 0 || pub.exit_code != 0) {
    throw std::runtime_error("openssl could not make a key pair:\n" + made.output + pub.output);
  }
  return KeyPair{ReadFile(private_path), ReadFile(public_path)};
}

}  // namespace

const KeyPair& TestKeys(int index) {
  static std::mutex mutex;
  static std::map<int, KeyPair> pairs;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = pairs.find(index);
  if (it == pairs.end()) it = pairs.emplace(index, MakeKeyPair()).first;
  return it->second;
}

std::string TokenFor(const std::string& user_id, const nlohmann::json& claims, const KeyPair& keys,
                     const std::string& kid) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  nlohmann::json all = {{"iss", kTestIssuer}, {"aud", kTestAudience}, {"user_id", user_id},
                        {"iat", now},         {"nbf", now - 5},       {"exp", now + 300}};
  for (const auto& [key, value] : claims.items()) all[key] = value;
  auto token = auth::SignJwt(all, keys.private_pem, "RS256", kid);
  if (!token.ok()) throw std::runtime_error(std::string(token.status().message()));
  return *token;
}

}  // namespace zeva::testing
