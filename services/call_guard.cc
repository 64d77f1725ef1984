#include "services/call_guard.h"

#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "domain/refusal.h"
#include "services/request_id.h"
#include "spdlog/spdlog.h"

namespace zeva::services {
namespace {

std::string Metadata(const grpc::ServerContextBase& context, const char* key, bool* present) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find(key);
  *present = it != metadata.end();
  return *present ? std::string(it->second.data(), it->second.size()) : std::string();
}

absl::Status Unhandled(const std::exception* e) {
  return absl::InternalError(e != nullptr ? std::string("unhandled exception: ") + e->what()
                                          : std::string("unhandled non-standard exception"));
}

// Runs `f` with any exception turned into INTERNAL (nothing a client sends may crash the
// process). `Result` is absl::Status or a type made from one.
template <typename Result, typename F>
Result Guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Result(Unhandled(&e));
  } catch (...) {
    return Result(Unhandled(nullptr));
  }
}

// Every thread of the blocking pool (--max-threads) is busy with a call. Said to the client
// as it is: not this caller's share (the fixed RESOURCE_EXHAUSTED text) but the replica's.
absl::Status AtCapacity() {
  return domain::Refusal(absl::StatusCode::kResourceExhausted,
                         "this replica is at its limit of calls in progress; retry shortly");
}

}  // namespace

struct CallGuard::Started {
  const char* method;
  const char* error_domain;
  std::chrono::steady_clock::time_point at;
  db::Clock::time_point deadline;
  bool has_request_id = false;
  std::string request_id;
  std::string caller_id = "-";
};

CallGuard::Started CallGuard::Start(grpc::ServerContextBase* context, const char* method,
                                    const char* error_domain) const {
  Started started{method, error_domain, std::chrono::steady_clock::now(), {}, false, {}};
  // gRPC reports "no deadline" as a time point decades away.
  const auto now = db::Clock::now();
  started.deadline = context->deadline() - now > std::chrono::hours(24 * 365)
                         ? now + default_deadline_
                         : context->deadline();
  started.request_id = CleanRequestId(Metadata(*context, "x-request-id", &started.has_request_id));
  // Echoed before the body runs: a streaming handler sends initial metadata with its first row.
  if (started.has_request_id) context->AddInitialMetadata("x-request-id", started.request_id);
  return started;
}

grpc::Status CallGuard::End(grpc::ServerContextBase* context, const Started& started,
                            absl::Status status) const {
  // A client that gave up (cancelled, or its deadline passed) gets nothing, whatever the
  // body returned: the log and the metrics say so instead of reporting an answer nobody got.
  if (context->IsCancelled()) {
    status = absl::CancelledError("the client cancelled the call or its deadline passed");
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started.at)
                          .count();
  if (observer_) observer_(started.method, status.code(), static_cast<double>(micros) / 1e6);
  const bool server_fault = status.code() == absl::StatusCode::kInternal ||
                            status.code() == absl::StatusCode::kUnknown ||
                            status.code() == absl::StatusCode::kDataLoss ||
                            status.code() == absl::StatusCode::kUnavailable;
  // Never the token: only the caller id, which the server itself established.
  spdlog::log(server_fault ? spdlog::level::warn : spdlog::level::info,
              "call {} status={} duration_us={} caller={} request_id={}{}{}", started.method,
              absl::StatusCodeToString(status.code()), micros, started.caller_id,
              started.has_request_id ? started.request_id : "-", server_fault ? " detail=" : "",
              server_fault ? std::string(status.message()) : "");
  return ToGrpcStatus(status, started.error_domain);
}

grpc::ServerUnaryReactor* CallGuard::Serve(grpc::CallbackServerContext* context, const char* method,
                                           Body body, const char* error_domain) {
  auto shared = std::make_shared<const Body>(std::move(body));
  return RunLater(
      context, method,
      [this, shared](const Call& call, const Answer& answer) {
        Later(answer, [call, shared] { return (*shared)(call); });
      },
      error_domain);
}

grpc::ServerUnaryReactor* CallGuard::RunLater(grpc::CallbackServerContext* context,
                                              const char* method, LaterBody body,
                                              const char* error_domain) {
  grpc::ServerUnaryReactor* const reactor = context->DefaultReactor();
  Begin(
      context, method, error_domain,
      [reactor](grpc::Status status) { reactor->Finish(std::move(status)); }, std::move(body));
  return reactor;
}

void CallGuard::Later(const Answer& answer, std::function<absl::Status()> work) {
  auto run = [answer, work = std::move(work)] { answer(Guarded<absl::Status>(work)); };
  if (BlockingPool::OnPoolThread()) return run();
  if (!blocking_.Run(run)) answer(AtCapacity());
}

void CallGuard::Begin(grpc::CallbackServerContext* context, const char* method,
                      const char* error_domain, Finisher finish, LaterBody body) {
  // What the answer needs, kept alive by whoever holds `answer` (the reactor, its request,
  // response and context live until Finish).
  struct Pending {
    Started started;
    grpc::CallbackServerContext* context = nullptr;
    Finisher finish;
    std::optional<auth::Caller> caller;
    std::atomic<bool> answered{false};
  };
  auto pending = std::make_shared<Pending>();
  pending->started = Start(context, method, error_domain);
  pending->context = context;
  pending->finish = std::move(finish);
  if (!gate_.Enter()) {
    pending->finish(
        End(context, pending->started, absl::UnavailableError("the server is shutting down")));
    return;
  }
  Answer answer = [this, pending](absl::Status status) {
    if (pending->answered.exchange(true)) return;  // a body that broke its promise: once only
    gate_.Leave();
    pending->finish(End(pending->context, pending->started, std::move(status)));
  };
  // Answers a refused caller or a body that threw; otherwise the body answers.
  auto run = [pending, body = std::move(body), answer](absl::StatusOr<auth::Caller> caller) {
    absl::Status failed = Guarded<absl::Status>([&] {
      if (!caller.ok()) return caller.status();
      pending->started.caller_id = caller->user_id;
      pending->caller = *std::move(caller);
      body(Call{*pending->caller, db::Budget{pending->started.deadline, pending->caller->user_id}},
           answer);
      return absl::OkStatus();
    });
    if (!failed.ok()) answer(std::move(failed));
  };
  bool has_header = false;
  std::string header = Metadata(*context, "authorization", &has_header);
  std::optional<absl::StatusOr<auth::Caller>> known =
      Guarded<std::optional<absl::StatusOr<auth::Caller>>>([&] {
        return authenticator_.AuthenticateWithoutWaiting(has_header ? &header : nullptr);
      });
  if (known) return run(*std::move(known));
  // The lookup may wait: on the pool, which runs the body there too.
  const bool queued = blocking_.Run([this, pending, run = std::move(run), has_header,
                                     header = std::move(header)]() mutable {
    run(Guarded<absl::StatusOr<auth::Caller>>([&] {
      return authenticator_.Authenticate(has_header ? &header : nullptr, pending->started.deadline);
    }));
  });
  if (!queued) answer(AtCapacity());
}

}  // namespace zeva::services
