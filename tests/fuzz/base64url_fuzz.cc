// Base64url: every JWT part and JWK number goes through the decoder. Anything decoded must
// encode back to the canonical text, and any bytes must survive encode then decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/base64url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto decoded = zeva::auth::Base64UrlDecode(bytes)) {
    auto again = zeva::auth::Base64UrlDecode(zeva::auth::Base64UrlEncode(*decoded));
    if (!again || *again != *decoded) std::abort();
  }
  auto round_trip = zeva::auth::Base64UrlDecode(zeva::auth::Base64UrlEncode(bytes));
  if (!round_trip || *round_trip != bytes) std::abort();
  return 0;
}
