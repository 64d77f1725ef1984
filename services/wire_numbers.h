#pragma once
// The contract's ids and amounts are uint64 on the wire; PostgreSQL holds them as bigint.
// Neither direction may wrap: an id above 2^63-1 would become a negative bigint, and a
// negative value read from the database would become a huge unsigned one on the wire.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zeva::services {

// A request's id field that must be set: INVALID_ARGUMENT when it is 0 or above 2^63-1.
absl::StatusOr<int64_t> RequiredId(absl::string_view field, uint64_t value);
// An id field where 0 means "not given": INVALID_ARGUMENT only when above 2^63-1.
absl::StatusOr<int64_t> OptionalId(absl::string_view field, uint64_t value);

// A stored value for an unsigned wire field: INTERNAL (a broken invariant in the data, for
// the log) when it is negative.
absl::StatusOr<uint64_t> ToWire(int64_t value, absl::string_view what);

}  // namespace zeva::services
