#include "services/grpc_status.h"

namespace zeva::services {

std::string ClientMessage(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return "service temporarily unavailable (database unreachable or busy, or this replica is "
             "shutting down); retry later";
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return "internal error; the server log has the details";
    default:
      return std::string(status.message());
  }
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), ClientMessage(status));
}

}  // namespace zeva::services
