#pragma once
// A refusal is an error whose message was written for the caller: what was wrong with the
// request, or why it is not allowed. Only refusals' messages reach clients (see
// services/grpc_status.cc); any other status reaches them as a fixed text for its code, so
// that what lower layers say (SQL, constraint names, hosts, library errors) stays in the log.
// An allowlist: a new error path leaks nothing by default.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace zeva::domain {

absl::Status Refusal(absl::StatusCode code, absl::string_view message);

// True for statuses made by Refusal (the payload survives copies and moves).
bool IsRefusal(const absl::Status& status);

}  // namespace zeva::domain
