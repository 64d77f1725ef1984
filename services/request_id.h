#pragma once
// The `x-request-id` a client sends is echoed in the response metadata and written to the
// log. gRPC aborts the process when a handler adds a metadata value with a byte outside
// 0x20-0x7E, and a raw newline would forge log lines, so the value is cleaned first.

#include <string>

#include "absl/strings/string_view.h"

namespace zeva::services {

inline constexpr size_t kMaxRequestIdBytes = 128;

// At most kMaxRequestIdBytes bytes of `raw`, each byte outside visible ASCII (0x21-0x7E: no
// controls, no spaces, no DEL, nothing above 0x7F) replaced by '_'. Always a legal metadata
// value; a well-formed id (a UUID, a trace id) comes back unchanged.
std::string CleanRequestId(absl::string_view raw);

}  // namespace zeva::services
