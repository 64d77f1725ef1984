#pragma once
// The contract's ids and amounts are uint64 on the wire; PostgreSQL holds them as bigint.
// Neither direction may wrap: an id above 2^63-1 would become a negative bigint, and a
// negative value read from the database would become a huge unsigned one on the wire.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zeva::services {

// Every stored id is a positive bigint, so an id above 2^63-1 names nothing: it becomes a
// negative number, which no row has, and the call answers exactly as for any other unknown id
// of its kind (NOT_FOUND, or PERMISSION_DENIED where the contract says so): the storage's
// integer range is not the client's business. The mapping is one to one (2^63 -> -1 ...
// 2^64-1 -> -2^63), so that messages name the id as the client sent it (IdText).

// A request's id field that must be set: INVALID_ARGUMENT when it is 0.
absl::StatusOr<int64_t> RequiredId(absl::string_view field, uint64_t value);
// An id field where 0 means "not given" (a filter).
int64_t OptionalId(uint64_t value);
// The id as the client sent it, for messages: "18446744073709551615" for what OptionalId
// made of it.
std::string IdText(int64_t id);
// A keyset cursor (`after_id`): above 2^63-1 it is after every stored id.
int64_t AfterId(uint64_t value);

// A stored value for an unsigned wire field: INTERNAL (a broken invariant in the data, for
// the log) when it is negative.
absl::StatusOr<uint64_t> ToWire(int64_t value, absl::string_view what);

}  // namespace zeva::services
