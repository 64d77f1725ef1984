#include "auth/rsa_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "auth/base64url.h"

namespace zeva::auth {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

BnPtr DecodeBigNum(const std::string& b64url) {
  auto bytes = Base64UrlDecode(b64url);
  if (!bytes || bytes->empty()) return nullptr;
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                         static_cast<int>(bytes->size()), nullptr));
}

absl::Status CheckRsa(EVP_PKEY* pkey) {
  if (!EVP_PKEY_is_a(pkey, "RSA")) return absl::InvalidArgumentError("not an RSA key");
  int bits = EVP_PKEY_get_bits(pkey);
  if (bits < kMinRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA key of ", bits, " bits; at least ", kMinRsaBits, " required"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return absl::InternalError("cannot write the public key as PEM");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

absl::StatusOr<std::string> RsaPublicKeyPemFromJwk(const std::string& n_b64url,
                                                   const std::string& e_b64url) {
  BnPtr n = DecodeBigNum(n_b64url);
  BnPtr e = DecodeBigNum(e_b64url);
  if (!n || !e) return absl::InvalidArgumentError("JWK n or e is not base64url");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return absl::InternalError("cannot build RSA parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return absl::InternalError("cannot set up RSA key creation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return absl::InvalidArgumentError("JWK n/e do not form an RSA key");
  }
  PkeyPtr pkey(raw);
  if (auto status = CheckRsa(pkey.get()); !status.ok()) return status;
  return ToPem(pkey.get());
}

absl::StatusOr<std::string> NormalizeRsaPublicKeyPem(const std::string& text) {
  std::string pem = absl::StrReplaceAll(text, {{"\\n", "\n"}});
  if (pem.find("-----BEGIN") == std::string::npos) {
    // Bare base64 (often one line): re-wrap at 64 columns, as PEM readers expect.
    std::string body;
    for (char c : pem) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) body.push_back(c);
    }
    pem = "-----BEGIN PUBLIC KEY-----\n";
    for (size_t i = 0; i < body.size(); i += 64) absl::StrAppend(&pem, body.substr(i, 64), "\n");
    pem += "-----END PUBLIC KEY-----\n";
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("cannot read the public key");
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return absl::InvalidArgumentError("not a PEM public key");
  if (auto status = CheckRsa(pkey.get()); !status.ok()) return status;
  return ToPem(pkey.get());
}

}  // namespace zeva::auth
