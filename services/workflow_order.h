#pragma once
// The order of a workflow change's refusals, one for transfers, credit applications and model
// year reports (their contracts agree): a caller who may not take the action at all is refused
// (PERMISSION_DENIED) before a stale `expected_version` (ABORTED, VERSION_MISMATCH), which comes
// before the workflow's own refusal of the action in the current status.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zeva::services {

// ABORTED VERSION_MISMATCH naming `what` ("transfer", ...) when the client expected another
// version than `current`; `expected` 0 expects none.
absl::Status CheckVersion(const char* what, uint32_t expected, int current);

// `decided` (the workflow's answer for the caller) in the contract's order against the version.
template <typename Transition>
absl::StatusOr<Transition> InRefusalOrder(absl::StatusOr<Transition> decided, const char* what,
                                          uint32_t expected, int current) {
  if (!decided.ok() && decided.status().code() == absl::StatusCode::kPermissionDenied) {
    return decided.status();
  }
  if (absl::Status version = CheckVersion(what, expected, current); !version.ok()) return version;
  return decided;
}

}  // namespace zeva::services
