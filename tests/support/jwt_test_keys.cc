#include "tests/support/jwt_test_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "auth/base64url.h"
#include "auth/jwt_sign.h"

namespace zeva::testing {
namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string BnParam(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error("no RSA param");
  std::string bytes(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return auth::Base64UrlEncode(bytes);
}

TestRsaKey Generate() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(EVP_RSA_gen(2048), EVP_PKEY_free);
  if (!pkey) throw std::runtime_error("RSA key generation failed");
  std::unique_ptr<BIO, decltype(&BIO_free_all)> priv(BIO_new(BIO_s_mem()), BIO_free_all);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> pub(BIO_new(BIO_s_mem()), BIO_free_all);
  if (PEM_write_bio_PrivateKey(priv.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_PUBKEY(pub.get(), pkey.get()) != 1) {
    throw std::runtime_error("cannot write test key PEM");
  }
  return TestRsaKey{BioText(priv.get()), BioText(pub.get()),
                    BnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_N),
                    BnParam(pkey.get(), OSSL_PKEY_PARAM_RSA_E)};
}

}  // namespace

const TestRsaKey& TestKey(int index) {
  static const std::array<TestRsaKey, 3> keys = {Generate(), Generate(), Generate()};
  return keys.at(static_cast<size_t>(index));
}

std::string JwksBody(const std::vector<std::pair<std::string, const TestRsaKey*>>& keys) {
  nlohmann::json jwks = {{"keys", nlohmann::json::array()}};
  for (const auto& [kid, key] : keys) {
    jwks["keys"].push_back({{"kid", kid},
                            {"kty", "RSA"},
                            {"alg", "RS256"},
                            {"use", "sig"},
                            {"n", key->n},
                            {"e", key->e}});
  }
  return jwks.dump();
}

auth::AuthOptions TestAuthOptions() {
  auth::AuthOptions config;
  config.issuer = kTestIssuer;
  config.audience = kTestAudience;
  config.clock_skew_seconds = 30;
  return config;
}

auth::UserLookup AnyUserLookup() {
  return [](const std::string& user_id,
            std::chrono::system_clock::time_point) -> absl::StatusOr<std::optional<auth::Caller>> {
    return auth::Caller{
        user_id, 1, "Test Vehicle Supplier 1", auth::OrganizationType::kVehicleSupplier, {}, ""};
  };
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json ValidClaims(const std::string& user_id, const std::string& issuer,
                           const std::string& audience) {
  int64_t now = NowSeconds();
  return {{"user_id", user_id}, {"iss", issuer},    {"aud", audience},
          {"iat", now},         {"exp", now + 300}, {"typ", "ID"}};
}

std::string SignToken(const nlohmann::json& claims, const std::string& key_or_secret,
                      const std::string& kid, const std::string& alg) {
  auto token = auth::SignJwt(claims, key_or_secret, alg, kid);
  if (!token.ok()) throw std::runtime_error(std::string(token.status().message()));
  return *token;
}

std::string UnsignedToken(const nlohmann::json& header, const nlohmann::json& claims) {
  return auth::Base64UrlEncode(header.dump()) + "." + auth::Base64UrlEncode(claims.dump()) + ".";
}

}  // namespace zeva::testing
