#pragma once
// The first steps of every mutating credits request, in the contract's order of errors: the
// key must be well formed (INVALID_ARGUMENT), and a key the caller already used either
// answers with its earlier result (same method and request) or is ALREADY_EXISTS
// (IDEMPOTENCY_KEY_REUSED) - before the request itself is validated. The change then claims the
// key again under lock (db/idempotency.h), which settles concurrent duplicates, and stores the
// response with it (KeyedChange): every replay answers with those bytes (AnswerStored).

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "db/idempotency.h"
#include "domain/credit_ledger.h"
#include "services/call_guard.h"

namespace zeva::services {

struct KeyCheck {
  db::IdempotencyClaim claim;               // for the change
  std::optional<db::StoredResult> earlier;  // set: answer with it, change nothing
};

absl::StatusOr<KeyCheck> CheckKey(db::IdempotencyStore& keys, const Call& call, const char* method,
                                  const google::protobuf::Message& request, const std::string& key);

absl::Status KeyReused();

// Answers with the response stored with a key: `response` parsed from its bytes, or, for a
// key stored before migration 0019 (no bytes), `as_now` of its result (the resource as it is
// now).
absl::Status AnswerStored(const db::StoredResult& stored, google::protobuf::Message* response,
                          const std::function<absl::Status(int64_t result_id)>& as_now);

// A change given its key and how to build the response to store with it; returns what it
// stored (or a refusal, which stores nothing).
template <class Record>
using ChangeWithKey =
    std::function<absl::StatusOr<db::StoredResult>(const db::KeyedChange<Record>& key)>;

// Every mutating request: the key checked (CheckKey: a used key answers with the response
// stored with it), else `change`, whose transaction stores `fill` of the record it produced,
// serialized, with the key; the request answers with those same bytes. `as_now` answers a key
// stored before migration 0019.
template <class Record, class Response>
absl::Status Idempotently(db::IdempotencyStore& keys, const Call& call, const char* method,
                          const google::protobuf::Message& request, const std::string& key,
                          const std::function<void(const Record&, Response*)>& fill,
                          const ChangeWithKey<Record>& change,
                          const std::function<absl::Status(int64_t result_id)>& as_now,
                          Response* response) {
  auto check = CheckKey(keys, call, method, request, key);
  if (!check.ok()) return check.status();
  if (check->earlier) return AnswerStored(*check->earlier, response, as_now);
  const db::KeyedChange<Record> keyed{check->claim, [&fill](const Record& record) {
                                        Response produced;
                                        fill(record, &produced);
                                        return produced.SerializeAsString();
                                      }};
  auto stored = change(keyed);
  if (!stored.ok()) return stored.status();
  return AnswerStored(*stored, response, as_now);
}

// A mutating handler of a workflow service (transfers, applications, model year reports):
// Idempotently, in the call guard, with `change` (validation, then the store), whose outcome
// `refusal` refuses or names the result by `id`; `fill` makes the caller's response.
template <class Record, class Response, class Outcome>
grpc::ServerUnaryReactor* MutateWorkflow(
    CallGuard& guard, db::IdempotencyStore& keys, grpc::CallbackServerContext* context,
    const char* method, const google::protobuf::Message& request, const std::string& key,
    void (*fill)(const Record&, const auth::Caller&, Response*),
    const std::function<absl::StatusOr<Outcome>(const Call&, const db::KeyedChange<Record>&)>&
        change,
    int64_t Outcome::*id, absl::Status (*refusal)(const Outcome&, int64_t),
    const std::function<absl::Status(const Call&, int64_t result_id)>& as_now, Response* response) {
  // The body runs after this returns: it keeps copies, and references only to what outlives
  // the call (the request, the response, the stores).
  return guard.Serve(
      context, method,
      [&keys, method, &request, &key, fill, change, id, refusal, as_now,
       response](const Call& call) -> absl::Status {
        return Idempotently<Record, Response>(
            keys, call, method, request, key,
            [&](const Record& record, Response* out) { fill(record, call.caller, out); },
            [&](const db::KeyedChange<Record>& keyed) -> absl::StatusOr<db::StoredResult> {
              auto outcome = change(call, keyed);
              if (!outcome.ok()) return outcome.status();
              const int64_t result_id = (*outcome).*id;
              if (absl::Status refused = refusal(*outcome, result_id); !refused.ok()) {
                return refused;
              }
              return db::StoredResult{result_id, outcome->response};
            },
            [&](int64_t result_id) { return as_now(call, result_id); }, response);
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
