#pragma once
// One HTTP(S) GET with libcurl, for the JWKS download.

#include <string>

#include "absl/status/statusor.h"

namespace zeva::auth {

// The body of a 200 answer; UNAVAILABLE for anything else (connection refused, timeout,
// other status, a body over `max_bytes`). `timeout_ms` bounds the whole transfer.
absl::StatusOr<std::string> HttpGet(const std::string& url, int timeout_ms,
                                    size_t max_bytes = 1 << 20);

}  // namespace zeva::auth
