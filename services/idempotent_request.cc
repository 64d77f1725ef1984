#include "services/idempotent_request.h"

#include "absl/strings/str_cat.h"
#include "domain/credit_ledger.h"
#include "domain/refusal.h"
#include "services/idempotency.h"

namespace zeva::services {

absl::Status KeyReused() {
  return domain::Refusal(absl::StatusCode::kAlreadyExists,
                         "this idempotency key was already used for a different request",
                         domain::kReasonIdempotencyKeyReused, "idempotency_key");
}

absl::StatusOr<KeyCheck> CheckKey(db::IdempotencyStore& keys, const Call& call, const char* method,
                                  const google::protobuf::Message& request,
                                  const std::string& key) {
  if (absl::Status valid = domain::CheckIdempotencyKey(key); !valid.ok()) return valid;
  KeyCheck check{db::IdempotencyClaim{call.caller.user_id, key, method, RequestDigest(request)},
                 std::nullopt};
  auto stored = keys.Find(call.caller.user_id, key, call.budget);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    if ((*stored)->method != method || (*stored)->request_sha256 != check.claim.request_sha256) {
      return KeyReused();
    }
    check.earlier = (*stored)->result;
  }
  return check;
}

absl::Status AnswerStored(const db::StoredResult& stored, google::protobuf::Message* response,
                          const std::function<absl::Status(int64_t result_id)>& as_now) {
  if (!stored.response) return as_now(stored.result_id);
  if (!response->ParseFromString(*stored.response)) {
    return absl::InternalError(
        absl::StrCat("the response stored with result ", stored.result_id, " does not parse"));
  }
  return absl::OkStatus();
}

}  // namespace zeva::services
