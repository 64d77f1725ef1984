#include "services/request_id.h"

namespace zeva::services {

std::string CleanRequestId(absl::string_view raw) {
  std::string clean(raw.substr(0, kMaxRequestIdBytes));
  for (char& ch : clean) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7E) ch = '_';
  }
  return clean;
}

}  // namespace zeva::services
