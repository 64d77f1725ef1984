#pragma once
// Every contract RPC runs through CallGuard::Run: it authenticates the caller from the
// `authorization` metadata (or ends the call UNAUTHENTICATED), runs the handler body,
// turns exceptions into INTERNAL (nothing a client sends may crash the process), maps the
// result to a gRPC status in one place, and writes one log line per call.
// gRPC 1.51 offers no dependable hook for this (an AuthMetadataProcessor on insecure
// credentials aborts; interceptors cannot end a call with their own status), hence a wrapper.

#include <grpcpp/server_context.h>

#include <chrono>
#include <exception>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "auth/authenticator.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"

namespace zeva::services {

// Told of every finished call: method, final code, seconds taken (e.g. for metrics).
using CallObserver = std::function<void(const char* method, absl::StatusCode code, double seconds)>;

class CallGuard {
 public:
  CallGuard(auth::Authenticator& authenticator, CallObserver observer)
      : authenticator_(authenticator), observer_(std::move(observer)) {}

  grpc::Status Run(grpc::ServerContext* context, const char* method,
                   const std::function<absl::Status(const auth::Caller&)>& body);

  // Closed on shutdown: later calls end UNAVAILABLE at once.
  CallGate& gate() { return gate_; }

 private:
  absl::Status Authenticated(grpc::ServerContext* context, std::string* caller_id,
                             const std::function<absl::Status(const auth::Caller&)>& body);

  auth::Authenticator& authenticator_;
  CallObserver observer_;
  CallGate gate_;
};

}  // namespace zeva::services
