#pragma once
// The first steps of every mutating credits request, in the contract's order of errors: the
// key must be well formed (INVALID_ARGUMENT), and a key the caller already used either
// answers with its earlier result (same method and request) or is ALREADY_EXISTS
// (IDEMPOTENCY_KEY_REUSED) - before the request itself is validated. The change then claims the
// key again under lock (db/idempotency.h), which settles concurrent duplicates.

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "db/idempotency.h"
#include "services/call_guard.h"

namespace zeva::services {

struct KeyCheck {
  db::IdempotencyClaim claim;  // for the change
  int64_t earlier_result = 0;  // not 0: answer with this result, change nothing
};

absl::StatusOr<KeyCheck> CheckKey(db::IdempotencyStore& keys, const Call& call, const char* method,
                                  const google::protobuf::Message& request, const std::string& key);

absl::Status KeyReused();

}  // namespace zeva::services
