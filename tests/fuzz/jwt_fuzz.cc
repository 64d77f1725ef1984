// A JWT as any client may send it in `authorization`: the header parsing, then cpp-jwt's
// decoding and the signature check with a real RSA key (kid "k0", also found without a kid).
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/jwks.h"
#include "auth/key_store.h"
#include "auth/token_verifier.h"
#include "tests/support/jwt_test_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto* keys = [] {
    zeva::auth::KeySet set;
    set["k0"] = std::make_shared<const zeva::auth::PublicKey>(
        zeva::auth::PublicKey{"k0", "", zeva::testing::TestKey(0).public_pem});
    return zeva::auth::KeyStore::FromKeySet(std::move(set)).release();
  }();
  static const zeva::auth::VerifyOptions options{zeva::testing::kTestIssuer,
                                                 zeva::testing::kTestAudience, 30};
  const std::string token(reinterpret_cast<const char*>(data), size);
  zeva::auth::VerifyToken(token, *keys, options).ok();
  return 0;
}
