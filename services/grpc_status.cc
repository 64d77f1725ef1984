#include "services/grpc_status.h"

#include "domain/refusal.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace zeva::services {
namespace {

const char* FixedMessage(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kCancelled:
      return "the call was cancelled";
    case absl::StatusCode::kDeadlineExceeded:
      return "the call's deadline passed before it finished; nothing was changed unless the "
             "change was already committed";
    case absl::StatusCode::kAlreadyExists:
      return "a record with these values already exists";
    case absl::StatusCode::kResourceExhausted:
      return "too many calls of this caller at once; retry shortly";
    case absl::StatusCode::kAborted:
      return "the call conflicted with a concurrent change; retry";
    case absl::StatusCode::kUnavailable:
      return "service temporarily unavailable (database unreachable or busy, or this replica is "
             "shutting down); retry later";
    case absl::StatusCode::kUnauthenticated:
      return "Authentication failed";
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kInvalidArgument:
      return "invalid request";
    case absl::StatusCode::kFailedPrecondition:
      return "the request does not fit the current state";
    case absl::StatusCode::kOutOfRange:
      return "out of range";
    case absl::StatusCode::kUnimplemented:
      return "not implemented";
    default:  // INTERNAL, UNKNOWN, DATA_LOSS
      return "internal error; the server log has the details";
  }
}

}  // namespace

std::string ClientMessage(const absl::Status& status) {
  if (domain::IsRefusal(status)) return std::string(status.message());
  return FixedMessage(status.code());
}

grpc::Status ToGrpcStatus(const absl::Status& status, const char* error_domain) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message = ClientMessage(status);
  if (error_domain == nullptr) return grpc::Status(code, message);
  google::rpc::Status details;
  details.set_code(static_cast<int32_t>(status.code()));
  details.set_message(message);
  google::rpc::ErrorInfo info;
  const std::string reason = domain::RefusalReason(status);
  info.set_reason(!reason.empty() ? reason : absl::StatusCodeToString(status.code()));
  info.set_domain(error_domain);
  domain::ForEachRefusalMetadata(status, [&](absl::string_view key, absl::string_view value) {
    (*info.mutable_metadata())[std::string(key)] = std::string(value);
  });
  details.add_details()->PackFrom(info);
  if (const std::string field = domain::RefusalField(status); !field.empty()) {
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field(field);
    violation->set_description(message);
    details.add_details()->PackFrom(bad_request);
  }
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace zeva::services
