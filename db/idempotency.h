#pragma once
// Idempotency keys (table idempotency_records), per user: claimed at the start of the
// transaction that makes a change and given that change's result and response before it
// commits, so a crash leaves neither a change without its key nor a key without its change.
// The response is the serialized message the request answered with, built by the caller
// (services/) from what the change produced as read in its transaction: a replay answers with
// exactly those bytes. No wire types here: a response is bytes.

#include <cstdint>
#include <functional>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pool.h"
#include "db/statement.h"

namespace zeva::db {

// A mutating request's key and what identifies the request.
struct IdempotencyClaim {
  std::string username;
  std::string key;
  std::string method;
  std::string request_sha256;  // 32 bytes
};

// What a used key answers with: its result and the response stored with it (nullopt for a key
// stored before migration 0019, which replays with the result as it is now).
struct StoredResult {
  int64_t result_id = 0;
  std::optional<std::string> response;
};

struct StoredKey {
  std::string method;
  std::string request_sha256;  // 32 bytes
  StoredResult result;
};

enum class ClaimResult { kClaimed, kReplay, kReused };

// Claims the key in `tx`. A concurrent transaction holding the same key makes this wait until
// it commits (then kReplay with its result) or rolls back (then kClaimed).
ClaimResult Claim(pqxx::transaction_base& tx, const IdempotencyClaim& claim,
                  StoredResult* replayed);

// Claims the key for a store's change: nullopt once claimed, else the change's outcome for a
// key used before (Outcome::Kind::kReplayed with the earlier result in `id` and the stored
// response, or kKeyReused for another request). One switch for every store's outcome type.
template <class Outcome>
std::optional<Outcome> ClaimOrEarlier(pqxx::transaction_base& tx, const IdempotencyClaim& claim,
                                      int64_t Outcome::*id) {
  StoredResult replayed;
  Outcome earlier;
  switch (Claim(tx, claim, &replayed)) {
    case ClaimResult::kReused:
      earlier.kind = Outcome::Kind::kKeyReused;
      return earlier;
    case ClaimResult::kReplay:
      earlier.kind = Outcome::Kind::kReplayed;
      earlier.*id = replayed.result_id;
      earlier.response = std::move(replayed.response);
      return earlier;
    case ClaimResult::kClaimed:
      break;
  }
  return std::nullopt;
}

// The serialized response of a change, given what it produced (`Record`, read in the change's
// transaction after its writes).
template <class Record>
using Respond = std::function<std::string(const Record&)>;

// A change's key and how to build the response stored with it.
template <class Record>
struct KeyedChange {
  IdempotencyClaim claim;
  Respond<Record> respond;
};

// Gives the claimed key its result and response; returns the response.
std::string RecordResult(pqxx::transaction_base& tx, const IdempotencyClaim& claim,
                         int64_t result_id, std::string response);
template <class Record>
std::string RecordResult(pqxx::transaction_base& tx, const KeyedChange<Record>& change,
                         int64_t result_id, const Record& produced) {
  return RecordResult(tx, change.claim, result_id, change.respond(produced));
}
// Reads keys outside any change: a replay is answered before the request is validated (the
// contract's order of errors); the change itself claims the key again under lock.
class IdempotencyStore {
 public:
  explicit IdempotencyStore(ConnectionPool& pool) : pool_(pool) {}
  // nullopt when the user has not used the key.
  absl::StatusOr<std::optional<StoredKey>> Find(const std::string& username, const std::string& key,
                                                const Budget& budget);

 private:
  ConnectionPool& pool_;
};

const std::vector<Statement>& IdempotencyStatements();

}  // namespace zeva::db
