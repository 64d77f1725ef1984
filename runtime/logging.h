#pragma once
// Process-wide spdlog set-up: plain text for people, one JSON object per line for log
// collectors.

#include <string>

#include "absl/status/status.h"

namespace zeva::runtime {

// `level` is one of spdlog's level names; `format` is "plain" or "json".
absl::Status SetUpLogging(const std::string& level, const std::string& format);

// Escapes `text` for use inside a JSON string literal.
std::string JsonEscape(const std::string& text);

}  // namespace zeva::runtime
