#pragma once
// Every contract RPC runs through CallGuard: it gives the call a deadline when the client sent
// none, authenticates the caller from the `authorization` metadata (or ends the call
// UNAUTHENTICATED), runs the handler body with the caller and the call's database budget,
// turns exceptions into INTERNAL (nothing a client sends may crash the process), maps the
// result to a gRPC status in one place, and writes one log line per call.
// gRPC 1.51 offers no dependable hook for this (an AuthMetadataProcessor on insecure
// credentials aborts; interceptors cannot end a call with their own status), hence a wrapper.
//
// Every method is on gRPC's callback API (measured faster than the sync API: see
// docs/performance.md), so no gRPC thread ever waits: the caller is authenticated from the
// caches when that needs no waiting, and whatever may wait (the body, a user lookup) runs on
// the BlockingPool.
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "auth/authenticator.h"
#include "db/pool.h"
#include "services/blocking_pool.h"
#include "services/call_gate.h"
#include "services/grpc_status.h"
#include "services/row_stream.h"

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

  // A unary call: `body` runs on the blocking pool and its status ends the call.
  // `error_domain`: see ToGrpcStatus (the credits API's errors carry details).
  using Body = std::function<absl::Status(const Call&)>;
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const char* method,
                                  Body body, const char* error_domain = nullptr);

  // A server stream: `body` runs on the blocking pool and writes its rows to the RowWriter;
  // its status ends the call once the rows before it are sent.
  template <typename Row>
  using StreamBody = std::function<absl::Status(const Call&, RowWriter<Row>*)>;
  template <typename Row>
  grpc::ServerWriteReactor<Row>* Stream(grpc::CallbackServerContext* context, const char* method,
                                        StreamBody<Row> body, const char* error_domain = nullptr) {
    auto* reactor = new RowStreamReactor<Row>();  // deletes itself in OnDone
    auto shared = std::make_shared<const StreamBody<Row>>(std::move(body));
    Begin(
        context, method, error_domain,
        [reactor](grpc::Status status) { reactor->FinishWhenWritten(std::move(status)); },
        [this, reactor, shared](const Call& call, const Answer& answer) {
          Later(answer, [call, reactor, shared] { return (*shared)(call, reactor); });
        });
    return reactor;
  }

  // A unary call whose body ends it through `answer`, now or later, from any thread: for a
  // body that can answer without waiting (GetBalances from memory). It runs on a gRPC thread
  // or the blocking pool, and must hand whatever may wait to Later. The Call stays valid until
  // the answer. Once it has handed `answer` on, the body must not throw.
  using LaterBody = std::function<void(const Call&, Answer)>;
  grpc::ServerUnaryReactor* RunLater(grpc::CallbackServerContext* context, const char* method,
                                     LaterBody body, const char* error_domain = nullptr);

  // Runs `work` on the blocking pool (at once when this is a pool thread) and answers with its
  // status (INTERNAL if it throws); RESOURCE_EXHAUSTED when every thread of the pool is busy.
  void Later(const Answer& answer, std::function<absl::Status()> work);

  // Closed on shutdown: later calls end UNAVAILABLE at once.
  CallGate& gate() { return gate_; }

 private:
  struct Started;  // what a call's start established, for its end
  // Starts a call of either kind: `finish` sends the final status (once).
  using Finisher = std::function<void(grpc::Status)>;
  void Begin(grpc::CallbackServerContext* context, const char* method, const char* error_domain,
             Finisher finish, LaterBody body);
  Started Start(grpc::ServerContextBase* context, const char* method,
                const char* error_domain) const;
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
