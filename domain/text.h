#pragma once
// The rule for one-line text a person types into a form (model names, trims, comments).

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zeva::domain {

// Returns `value` without surrounding white space (ASCII and Unicode spaces, and invisible
// characters such as U+200B ZERO WIDTH SPACE or U+FEFF), or an INVALID_ARGUMENT refusal naming
// `field` when the rest is empty, is not UTF-8, is longer than `max_chars` characters, or
// holds a control character (C0, DEL, C1, line or paragraph separator) or a bidirectional
// formatting character (U+202A-U+202E, U+2066-U+2069, LRM/RLM/ALM), which would make the text
// display differently from what is stored ("Trojan Source").
// `multiline`: line feeds inside the text are kept (comments typed into a text area).
absl::StatusOr<std::string> CleanText(absl::string_view field, absl::string_view value,
                                      size_t max_chars, bool multiline = false);

}  // namespace zeva::domain
