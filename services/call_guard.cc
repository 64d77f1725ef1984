#include "services/call_guard.h"

#include <exception>

#include "services/request_id.h"
#include "spdlog/spdlog.h"

namespace zeva::services {
namespace {

std::string Metadata(const grpc::ServerContext& context, const char* key, bool* present) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(key);
  *present = it != metadata.end();
  return *present ? std::string(it->second.data(), it->second.size()) : std::string();
}

}  // namespace

grpc::Status CallGuard::Run(grpc::ServerContext* context, const char* method,
                            const std::function<absl::Status(const Call&)>& body,
                            const char* error_domain) {
  const auto started = std::chrono::steady_clock::now();
  // gRPC reports "no deadline" as a time point decades away.
  const auto now = db::Clock::now();
  const db::Clock::time_point deadline = context->deadline() - now > std::chrono::hours(24 * 365)
                                             ? now + default_deadline_
                                             : context->deadline();
  bool has_request_id = false;
  const std::string request_id =
      CleanRequestId(Metadata(*context, "x-request-id", &has_request_id));
  // Echoed before the body runs: a streaming handler sends initial metadata with its first row.
  if (has_request_id) context->AddInitialMetadata("x-request-id", request_id);
  std::string caller_id = "-";
  absl::Status status;
  if (gate_.Enter()) {
    status = Authenticated(context, deadline, &caller_id, body);
    gate_.Leave();
  } else {
    status = absl::UnavailableError("the server is shutting down");
  }
  // A client that gave up (cancelled, or its deadline passed) gets nothing, whatever the
  // body returned: the log and the metrics say so instead of reporting an answer nobody got.
  if (context->IsCancelled()) {
    status = absl::CancelledError("the client cancelled the call or its deadline passed");
  }

  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  if (observer_) observer_(method, status.code(), static_cast<double>(micros) / 1e6);
  const bool server_fault = status.code() == absl::StatusCode::kInternal ||
                            status.code() == absl::StatusCode::kUnknown ||
                            status.code() == absl::StatusCode::kDataLoss ||
                            status.code() == absl::StatusCode::kUnavailable;
  // Never the token: only the caller id, which the server itself established.
  spdlog::log(server_fault ? spdlog::level::warn : spdlog::level::info,
              "call {} status={} duration_us={} caller={} request_id={}{}{}", method,
              absl::StatusCodeToString(status.code()), micros, caller_id,
              has_request_id ? request_id : "-", server_fault ? " detail=" : "",
              server_fault ? std::string(status.message()) : "");
  return ToGrpcStatus(status, error_domain);
}

absl::Status CallGuard::Authenticated(grpc::ServerContext* context, db::Clock::time_point deadline,
                                      std::string* caller_id,
                                      const std::function<absl::Status(const Call&)>& body) {
  bool has_header = false;
  const std::string header = Metadata(*context, "authorization", &has_header);
  try {
    absl::StatusOr<auth::Caller> caller =
        authenticator_.Authenticate(has_header ? &header : nullptr, deadline);
    if (!caller.ok()) return caller.status();
    *caller_id = caller->user_id;
    return body(Call{*caller, db::Budget{deadline, caller->user_id}});
  } catch (const std::exception& e) {
    return absl::InternalError(std::string("unhandled exception: ") + e.what());
  } catch (...) {
    return absl::InternalError("unhandled non-standard exception");
  }
}

}  // namespace zeva::services
