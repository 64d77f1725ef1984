#include "domain/credit_rule.h"

#include <algorithm>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace zeva::domain {
namespace {

constexpr int64_t kMillionthsPerKm = 6214;  // 0.006214 credits per km, in millionths
// Rounds millionths of a credit half-up to hundredths.
int64_t RoundToHundredths(int64_t millionths) { return (millionths + 5000) / 10000; }

}  // namespace

CreditClass ClassOfRange(const std::string& type, int64_t range_hundredths_km) {
  // The old fixtures' BZEV is a battery electric vehicle: a BEV wherever the rule applies.
  if (type == "BEV" || type == "BZEV" || type == "FCEV") {
    return range_hundredths_km < 8047 ? CreditClass::kC : CreditClass::kA;
  }
  if (type != "EREV" && type != "PHEV") return CreditClass::kC;
  if (range_hundredths_km < 1600) return CreditClass::kC;
  return type == "EREV" && range_hundredths_km >= 12100 ? CreditClass::kA : CreditClass::kB;
}

CreditClass ClassOf(const std::string& type, uint32_t range_km) {
  return ClassOfRange(type, int64_t{100} * range_km);
}

int64_t CreditHundredths(const std::string& type, uint32_t range_km, bool passed_us06) {
  const int64_t per_range = kMillionthsPerKm * static_cast<int64_t>(range_km);
  switch (ClassOf(type, range_km)) {
    case CreditClass::kA:
      return std::min<int64_t>(RoundToHundredths(per_range + 500000), 400);
    case CreditClass::kB: {
      const int64_t base = per_range + 300000 + (passed_us06 ? 200000 : 0);
      return std::min<int64_t>(RoundToHundredths(base), passed_us06 ? 130 : 110);
    }
    case CreditClass::kC:
      break;
  }
  return 0;
}

std::string HundredthsToDecimal(int64_t hundredths) {
  const bool negative = hundredths < 0;
  // Unsigned: the magnitude of INT64_MIN does not fit in int64_t.
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(hundredths) : static_cast<uint64_t>(hundredths);
  return absl::StrFormat("%s%d.%02d", negative ? "-" : "", magnitude / 100, magnitude % 100);
}

bool DecimalToHundredths(const std::string& text, int64_t* hundredths) {
  std::string digits = text;
  bool negative = false;
  if (!digits.empty() && digits[0] == '-') {
    negative = true;
    digits.erase(0, 1);
  }
  const auto dot = digits.find('.');
  std::string whole = digits.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : digits.substr(dot + 1);
  if (whole.empty() || fraction.size() > 2) return false;
  for (char c : whole + fraction) {
    if (c < '0' || c > '9') return false;
  }
  fraction.resize(2, '0');
  int64_t whole_value = 0;
  int64_t fraction_value = 0;
  if (!absl::SimpleAtoi(whole, &whole_value) || !absl::SimpleAtoi(fraction, &fraction_value)) {
    return false;
  }
  if (whole_value > (std::numeric_limits<int64_t>::max() - 99) / 100) return false;
  *hundredths = (whole_value * 100 + fraction_value) * (negative ? -1 : 1);
  return true;
}

}  // namespace zeva::domain
