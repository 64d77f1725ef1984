#pragma once
// Validation of a vehicle model as a supplier submits it (create and update share it).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace zeva::domain {

// Longest text column of `vehicles` (varchar(100)).
inline constexpr size_t kMaxTextLength = 100;
// No production vehicle comes near this; anything above is a typo (e.g. metres for km).
inline constexpr uint32_t kMaxRangeKm = 2000;

struct VehicleModel {
  std::string make;
  std::string model;
  std::string type;  // normalised to upper case
  std::string trim;
  uint32_t range_km = 0;
  int64_t credit_hundredths = 0;  // computed, never taken from the client
};

// Checks every field (surrounding white space is removed first; the type is upper-cased),
// computes the credit value, and refuses a model that earns none. Errors are
// INVALID_ARGUMENT and name the field.
absl::StatusOr<VehicleModel> ValidateVehicleModel(std::string make, std::string model,
                                                  std::string type, std::string trim,
                                                  uint32_t range_km);

}  // namespace zeva::domain
