#pragma once
// The one place where absl::Status (used across layers) becomes a gRPC status.
// Codes map one to one (absl's numbering is gRPC's). Messages of INTERNAL, UNKNOWN,
// DATA_LOSS and UNAVAILABLE come from lower layers and may name hosts, tables or SQL: they go
// to the log, and the client gets a fixed message that helps without leaking anything.

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace zeva::services {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The client-facing message ToGrpcStatus would send for `status`.
std::string ClientMessage(const absl::Status& status);

}  // namespace zeva::services
