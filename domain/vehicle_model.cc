#include "domain/vehicle_model.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "domain/credit_rule.h"
#include "domain/refusal.h"
#include "domain/text.h"

namespace zeva::domain {

absl::StatusOr<VehicleModel> ValidateVehicleModel(std::string make, std::string model,
                                                  std::string type, std::string trim,
                                                  uint32_t range_km) {
  VehicleModel out{std::move(make), std::move(model), std::move(type),
                   std::move(trim), range_km,         0};
  for (auto [field, value] : {std::pair<const char*, std::string*>{"make", &out.make},
                              {"model", &out.model},
                              {"type", &out.type},
                              {"trim", &out.trim}}) {
    auto clean = CleanText(field, *value, kMaxTextLength);
    if (!clean.ok()) return clean.status();
    *value = *std::move(clean);
  }
  absl::AsciiStrToUpper(&out.type);
  if (range_km == 0)
    return Refusal(absl::StatusCode::kInvalidArgument, "range must be greater than 0 km");
  if (range_km > kMaxRangeKm) {
    return Refusal(absl::StatusCode::kInvalidArgument,
                   absl::StrCat("range must be at most ", kMaxRangeKm, " km"));
  }
  out.credit_hundredths = CreditHundredths(out.type, range_km);
  if (out.credit_hundredths <= 0) {
    return Refusal(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat(
            "type '", out.type,
            "' earns no credit (class C); ZEV types are BEV (also BZEV), FCEV, EREV and PHEV"));
  }
  return out;
}

}  // namespace zeva::domain
