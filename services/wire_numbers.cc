#include "services/wire_numbers.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"

namespace zeva::services {

namespace {
constexpr uint64_t kLargestStored = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}  // namespace

int64_t OptionalId(uint64_t value) {
  if (value <= kLargestStored) return static_cast<int64_t>(value);
  // 2^63 .. 2^64-1 -> -1 .. -2^63, without overflow: v - (2^63-1) is 1 .. 2^63.
  const uint64_t beyond = value - kLargestStored;
  return beyond == (uint64_t{1} << 63) ? std::numeric_limits<int64_t>::min()
                                       : -static_cast<int64_t>(beyond);
}

std::string IdText(int64_t id) {
  if (id >= 0) return std::to_string(id);
  // The inverse of OptionalId: -1 .. -2^63 -> 2^63 .. 2^64-1.
  const uint64_t beyond = 0 - static_cast<uint64_t>(id);
  return std::to_string(kLargestStored + beyond);
}

int64_t AfterId(uint64_t value) {
  return value > kLargestStored ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(value);
}

absl::StatusOr<int64_t> RequiredId(absl::string_view field, uint64_t value) {
  if (value == 0) {
    return domain::Refusal(absl::StatusCode::kInvalidArgument,
                           absl::StrCat(field, " must be given"), "INVALID_ARGUMENT", field);
  }
  return OptionalId(value);
}

absl::StatusOr<uint64_t> ToWire(int64_t value, absl::string_view what) {
  if (value < 0) {
    return absl::InternalError(
        absl::StrCat(what, " is negative (", value, ") and cannot be sent as unsigned"));
  }
  return static_cast<uint64_t>(value);
}

}  // namespace zeva::services
