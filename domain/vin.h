#pragma once
// Vehicle identification numbers as ZEVA handles them (docs/applications.md): the alphabet
// ICBC's data and sales records share, and the North American check digit (position 9).

#include <string>

#include "absl/strings/string_view.h"

namespace zeva::domain {

// A VIN as a request or a file names it: trimmed of surrounding white space, upper-cased.
std::string NormalizeVin(absl::string_view vin);
// 17 characters of A-H J-N P R-Z 0-9 (no I, O, Q), upper case.
bool IsValidVin(absl::string_view vin);
// The check digit of a VIN-shaped text ('0'-'9' or 'X'): letters transliterated, weights
// 8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2, the sum mod 11, 10 written X.
char VinCheckDigit(absl::string_view vin);
// Whether position 9 holds that check digit (false for anything not VIN-shaped).
bool HasVinCheckDigit(absl::string_view vin);

}  // namespace zeva::domain
