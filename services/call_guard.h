#pragma once
// Every contract RPC runs through CallGuard::Run: it gives the call a deadline when the
// client sent none, authenticates the caller from the `authorization` metadata (or ends the
// call UNAUTHENTICATED), runs the handler body with the caller and the call's database
// budget, turns exceptions into INTERNAL (nothing a client sends may crash the process), maps
// the result to a gRPC status in one place, and writes one log line per call.
// gRPC 1.51 offers no dependable hook for this (an AuthMetadataProcessor on insecure
// credentials aborts; interceptors cannot end a call with their own status), hence a wrapper.

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "auth/authenticator.h"
#include "db/pool.h"
#include "services/blocking_pool.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"

namespace zeva::services {

// What a handler works with: who calls, and what the call may spend of the database (its
// deadline, and the caller's share of the pool).
struct Call {
  const auth::Caller& caller;
  db::Budget budget;
};

// Ends a call that CallGuard::RunLater started: exactly once, from any thread.
using Answer = std::function<void(absl::Status)>;

// Told of every finished call: method, final code, seconds taken (e.g. for metrics).
using CallObserver = std::function<void(const char* method, absl::StatusCode code, double seconds)>;

class CallGuard {
 public:
  // `default_deadline`: the deadline of calls that arrive without one (never "forever").
  CallGuard(auth::Authenticator& authenticator, CallObserver observer,
            std::chrono::milliseconds default_deadline, BlockingPool& blocking)
      : authenticator_(authenticator),
        observer_(std::move(observer)),
        default_deadline_(default_deadline),
        blocking_(blocking) {}

  // `error_domain`: see ToGrpcStatus (the credits API's errors carry details).
  grpc::Status Run(grpc::ServerContext* context, const char* method,
                   const std::function<absl::Status(const Call&)>& body,
                   const char* error_domain = nullptr);

  // The same boundary for a unary call of gRPC's callback API, whose answer may come later and
  // from another thread, so that no thread waits for it. gRPC's callback threads must never
  // block (see BlockingPool): the caller is authenticated from the caches when that needs no
  // waiting, else on blocking(). `body` then runs, on either thread, and ends the call through
  // `answer`, now or later; whatever in it may wait goes to blocking() as well. The Call stays
  // valid until the answer. Once it has handed `answer` on, the body must not throw.
  using LaterBody = std::function<void(const Call&, Answer)>;
  grpc::ServerUnaryReactor* RunLater(grpc::CallbackServerContext* context, const char* method,
                                     LaterBody body, const char* error_domain = nullptr);
  BlockingPool& blocking() { return blocking_; }

  // Closed on shutdown: later calls end UNAVAILABLE at once.
  CallGate& gate() { return gate_; }

 private:
  struct Started;  // what a call's start established, for its end
  Started Start(grpc::ServerContextBase* context, const char* method,
                const char* error_domain) const;
  absl::StatusOr<auth::Caller> Authenticate(const grpc::ServerContextBase& context,
                                            db::Clock::time_point deadline);
  // Maps, observes and logs the outcome; the status to send.
  grpc::Status End(grpc::ServerContextBase* context, const Started& started,
                   absl::Status status) const;

  auth::Authenticator& authenticator_;
  CallObserver observer_;
  const std::chrono::milliseconds default_deadline_;
  CallGate gate_;
  BlockingPool& blocking_;
};

}  // namespace zeva::services
