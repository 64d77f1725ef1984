#include "domain/vin.h"

#include "absl/strings/ascii.h"

namespace zeva::domain {
namespace {

// The transliteration of the North American VIN rule: A-H 1-8, J-N 1-5, P 7, R 9, S-Z 2-9.
int VinValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'H') return c - 'A' + 1;
  if (c >= 'J' && c <= 'N') return c - 'J' + 1;
  if (c == 'P') return 7;
  if (c == 'R') return 9;
  if (c >= 'S' && c <= 'Z') return c - 'S' + 2;
  return -1;  // I, O, Q and anything else
}

constexpr int kWeights[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};

}  // namespace

std::string NormalizeVin(absl::string_view vin) {
  return absl::AsciiStrToUpper(absl::StripAsciiWhitespace(vin));
}

bool IsValidVin(absl::string_view vin) {
  if (vin.size() != 17) return false;
  for (char c : vin) {
    if (VinValue(c) < 0) return false;
  }
  return true;
}

char VinCheckDigit(absl::string_view vin) {
  int sum = 0;
  for (size_t i = 0; i < 17 && i < vin.size(); ++i) sum += VinValue(vin[i]) * kWeights[i];
  const int digit = sum % 11;
  return digit == 10 ? 'X' : static_cast<char>('0' + digit);
}

bool HasVinCheckDigit(absl::string_view vin) {
  return IsValidVin(vin) && vin[8] == VinCheckDigit(vin);
}

}  // namespace zeva::domain
