#pragma once
// Every contract RPC runs through CallGuard::Run: it gives the call a deadline when the
// client sent none, authenticates the caller from the `authorization` metadata (or ends the
// call UNAUTHENTICATED), runs the handler body with the caller and the call's database
// budget, turns exceptions into INTERNAL (nothing a client sends may crash the process), maps
// the result to a gRPC status in one place, and writes one log line per call.
// gRPC 1.51 offers no dependable hook for this (an AuthMetadataProcessor on insecure
// credentials aborts; interceptors cannot end a call with their own status), hence a wrapper.

#include <grpcpp/server_context.h>

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "auth/authenticator.h"
#include "db/pool.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"

namespace zeva::services {

// What a handler works with: who calls, and what the call may spend of the database (its
// deadline, and the caller's share of the pool).
struct Call {
  const auth::Caller& caller;
  db::Budget budget;
};

// Told of every finished call: method, final code, seconds taken (e.g. for metrics).
using CallObserver = std::function<void(const char* method, absl::StatusCode code, double seconds)>;

class CallGuard {
 public:
  // `default_deadline`: the deadline of calls that arrive without one (never "forever").
  CallGuard(auth::Authenticator& authenticator, CallObserver observer,
            std::chrono::milliseconds default_deadline)
      : authenticator_(authenticator),
        observer_(std::move(observer)),
        default_deadline_(default_deadline) {}

  // `error_domain`: see ToGrpcStatus (the credits API's errors carry details).
  grpc::Status Run(grpc::ServerContext* context, const char* method,
                   const std::function<absl::Status(const Call&)>& body,
                   const char* error_domain = nullptr);

  // Closed on shutdown: later calls end UNAVAILABLE at once.
  CallGate& gate() { return gate_; }

 private:
  struct Started;  // what a call's start established, for its end
  Started Start(grpc::ServerContext* context, const char* method, const char* error_domain) const;
  absl::StatusOr<auth::Caller> Authenticate(const grpc::ServerContext& context,
                                            db::Clock::time_point deadline);
  // Maps, observes and logs the outcome; the status to send.
  grpc::Status End(grpc::ServerContext* context, const Started& started, absl::Status status) const;

  auth::Authenticator& authenticator_;
  CallObserver observer_;
  const std::chrono::milliseconds default_deadline_;
  CallGate gate_;
};

}  // namespace zeva::services
