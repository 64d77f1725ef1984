#include "services/wire_numbers.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"

namespace zeva::services {

absl::StatusOr<int64_t> OptionalId(absl::string_view field, uint64_t value) {
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return domain::Refusal(absl::StatusCode::kInvalidArgument,
                           absl::StrCat(field, " must be at most 9223372036854775807"),
                           "INVALID_ARGUMENT", field);
  }
  return static_cast<int64_t>(value);
}

absl::StatusOr<int64_t> RequiredId(absl::string_view field, uint64_t value) {
  if (value == 0) {
    return domain::Refusal(absl::StatusCode::kInvalidArgument,
                           absl::StrCat(field, " must be given"), "INVALID_ARGUMENT", field);
  }
  return OptionalId(field, value);
}

absl::StatusOr<uint64_t> ToWire(int64_t value, absl::string_view what) {
  if (value < 0) {
    return absl::InternalError(
        absl::StrCat(what, " is negative (", value, ") and cannot be sent as unsigned"));
  }
  return static_cast<uint64_t>(value);
}

}  // namespace zeva::services
