#include "domain/vehicle_model.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "domain/credit_rule.h"

namespace zeva::domain {
namespace {

// Valid UTF-8 length in characters, or -1 when the bytes are not UTF-8 (protobuf checks
// strings already, but the rule belongs to the model, not to the transport).
int64_t Utf8Length(const std::string& text) {
  int64_t count = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t width = c < 0x80           ? 1
                         : (c >> 5) == 0x6  ? 2
                         : (c >> 4) == 0xE  ? 3
                         : (c >> 3) == 0x1E ? 4
                                            : 0;
    if (width == 0 || i + width > text.size()) return -1;
    for (size_t k = 1; k < width; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return -1;
    }
    i += width;
    ++count;
  }
  return count;
}

absl::Status CheckText(const char* field, std::string& value) {
  value = std::string(absl::StripAsciiWhitespace(value));
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " must not be empty"));
  const int64_t length = Utf8Length(value);
  if (length < 0) return absl::InvalidArgumentError(absl::StrCat(field, " is not valid UTF-8"));
  if (static_cast<size_t>(length) > kMaxTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxTextLength, " characters"));
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return absl::InvalidArgumentError(absl::StrCat(field, " contains control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VehicleModel> ValidateVehicleModel(std::string make, std::string model,
                                                  std::string type, std::string trim,
                                                  uint32_t range_km) {
  VehicleModel out{std::move(make), std::move(model), std::move(type),
                   std::move(trim), range_km,         0};
  for (auto [field, value] : {std::pair<const char*, std::string*>{"make", &out.make},
                              {"model", &out.model},
                              {"type", &out.type},
                              {"trim", &out.trim}}) {
    if (absl::Status status = CheckText(field, *value); !status.ok()) return status;
  }
  absl::AsciiStrToUpper(&out.type);
  if (range_km == 0) return absl::InvalidArgumentError("range must be greater than 0 km");
  if (range_km > kMaxRangeKm) {
    return absl::InvalidArgumentError(absl::StrCat("range must be at most ", kMaxRangeKm, " km"));
  }
  out.credit_hundredths = CreditHundredths(out.type, range_km);
  if (out.credit_hundredths <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "type '", out.type, "' earns no credit (class C); ZEV types are BEV, FCEV, EREV and PHEV"));
  }
  return out;
}

}  // namespace zeva::domain
