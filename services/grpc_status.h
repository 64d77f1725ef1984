#pragma once
// The one place where absl::Status (used across layers) becomes a gRPC status.
// Codes map one to one (absl's numbering is gRPC's). Messages are an allowlist: a refusal
// (domain/refusal.h: a message written for the caller) is sent as it is; any other status
// came from a lower layer and may name hosts, tables, constraints or SQL, so its message goes
// to the log and the client gets a fixed text for the code that helps without leaking.
// With an error domain (the credits API's "zeva.credits.v1"), every error also carries a
// google.rpc.ErrorInfo (the refusal's reason, or the code's name) and, when a field is at
// fault, a google.rpc.BadRequest, in the standard grpc-status-details-bin trailer.

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace zeva::services {

grpc::Status ToGrpcStatus(const absl::Status& status, const char* error_domain = nullptr);

// The client-facing message ToGrpcStatus would send for `status`.
std::string ClientMessage(const absl::Status& status);

}  // namespace zeva::services
