#include "domain/icbc.h"

#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "domain/refusal.h"

namespace zeva::domain {
namespace {

constexpr const char* kStatusNames[] = {"",          "UPLOADING", "QUEUED",   "PROCESSING",
                                        "COMPLETED", "FAILED",    "CANCELLED"};

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Code points of valid UTF-8 `s`; -1 when it is not UTF-8.
int64_t CodePoints(absl::string_view s) {
  int64_t count = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return -1;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return -1;
    }
    i += n;
    ++count;
  }
  return count;
}

bool EqualsIgnoringCase(const std::optional<std::string>& value, absl::string_view word) {
  return value.has_value() && absl::EqualsIgnoreCase(*value, word);
}

}  // namespace

const char* IcbcStatusName(IcbcImportStatus status) {
  return kStatusNames[static_cast<int>(status)];
}

IcbcImportStatus IcbcStatusNamed(absl::string_view name) {
  for (int i = 1; i <= 6; ++i) {
    if (name == kStatusNames[i]) return static_cast<IcbcImportStatus>(i);
  }
  return IcbcImportStatus::kUnspecified;
}

absl::Status CheckIcbcStart(const IcbcStartInput& input, int today_year, int today_month,
                            int today_day) {
  const int64_t chars = CodePoints(input.file_name);
  if (chars < 1 || chars > 255) {
    return InvalidField("file_name", "must be 1 to 255 characters of UTF-8");
  }
  const bool valid_date = input.year >= 1 && input.year <= 9999 && input.month >= 1 &&
                          input.month <= 12 && input.day >= 1 &&
                          input.day <= DaysIn(input.year, input.month);
  if (!valid_date) return InvalidField("current_to", "must be a valid date");
  if (std::tie(input.year, input.month, input.day) > std::tie(today_year, today_month, today_day)) {
    return InvalidField("current_to", "must not be in the future");
  }
  if (input.size_bytes < 1 || input.size_bytes > static_cast<uint64_t>(kIcbcMaxFileBytes)) {
    return InvalidField("size_bytes", "must be from 1 byte to 2 GiB");
  }
  bool hex = input.sha256.size() == 64;
  for (char c : input.sha256) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!hex) return InvalidField("sha256", "must be 64 lower-case hexadecimal digits");
  return absl::OkStatus();
}

IcbcRowVerdict JudgeIcbcRow(const IcbcRowValues& row) {
  using Kind = IcbcRowVerdict::Kind;
  // Rule 2: with any optional column, only rows that look electric or hybrid are kept. An
  // empty flag is "not N" (keeps the row); a column the file lacks keeps nothing.
  const bool any_optional =
      row.hybrid_flag.has_value() || row.electric_flag.has_value() || row.fuel_type.has_value();
  if (any_optional) {
    const bool keep =
        (row.hybrid_flag.has_value() && !EqualsIgnoringCase(row.hybrid_flag, "N")) ||
        (row.electric_flag.has_value() && !EqualsIgnoringCase(row.electric_flag, "N")) ||
        EqualsIgnoringCase(row.fuel_type, "ELECTRIC") ||
        EqualsIgnoringCase(row.fuel_type, "HYDROGEN") ||
        EqualsIgnoringCase(row.fuel_type, "GASOLINEELECTRIC");
    if (!keep) return IcbcRowVerdict{Kind::kDropped, "", "", 0};
  }
  // Rule 3.
  int32_t year = 0;
  if (!absl::SimpleAtoi(row.model_year, &year)) {
    return IcbcRowVerdict{Kind::kRejected,
                          absl::StrCat("MODEL_YEAR \"", row.model_year, "\" is not an integer"), "",
                          0};
  }
  if (year < kIcbcFirstModelYear || row.vin.empty())
    return IcbcRowVerdict{Kind::kDropped, "", "", 0};
  // Rule 4.
  std::string vin = absl::AsciiStrToUpper(row.vin);
  if (!IsValidVin(vin)) {
    return IcbcRowVerdict{
        Kind::kRejected,
        absl::StrCat("VIN \"", row.vin, "\" is not 17 characters of A-H, J-N, P, R-Z and 0-9"), "",
        0};
  }
  return IcbcRowVerdict{Kind::kKept, "", std::move(vin), year};
}

}  // namespace zeva::domain
