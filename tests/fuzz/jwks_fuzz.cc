// A JWKS document as the identity provider (or anything answering at its URL) serves it.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/jwks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {  // skipped keys are logged as warnings
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  zeva::auth::ParseJwks(std::string(reinterpret_cast<const char*>(data), size)).ok();
  return 0;
}
