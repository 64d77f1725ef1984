#pragma once
// A refusal is an error whose message was written for the caller: what was wrong with the
// request, or why it is not allowed. Only refusals' messages reach clients (see
// services/grpc_status.cc); any other status reaches them as a fixed text for its code, so
// that what lower layers say (SQL, constraint names, hosts, library errors) stays in the log.
// An allowlist: a new error path leaks nothing by default.
//
// A refusal may name a machine-readable `reason` (e.g. INSUFFICIENT_CREDITS; sent as a
// google.rpc.ErrorInfo) and the request `field` at fault (e.g. "lines[2].amount"; sent as a
// google.rpc.BadRequest), so that clients need not parse messages.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace zeva::domain {

absl::Status Refusal(absl::StatusCode code, absl::string_view message,
                     absl::string_view reason = "", absl::string_view field = "");

// INVALID_ARGUMENT for the request field `field`: "<field> <problem>", reason
// INVALID_ARGUMENT, the field named for google.rpc.BadRequest.
absl::Status InvalidField(absl::string_view field, absl::string_view problem);

// The refusal with a google.rpc.ErrorInfo metadata entry (e.g. "expected_offset" -> "1048576").
absl::Status WithMetadata(absl::Status refusal, absl::string_view key, absl::string_view value);
// Calls `visit` with each metadata entry of the refusal.
void ForEachRefusalMetadata(
    const absl::Status& status,
    const std::function<void(absl::string_view key, absl::string_view value)>& visit);

// True for statuses made by Refusal (payloads survive copies and moves).
bool IsRefusal(const absl::Status& status);
// The refusal's reason and field; "" when none was given.
std::string RefusalReason(const absl::Status& status);
std::string RefusalField(const absl::Status& status);

}  // namespace zeva::domain
