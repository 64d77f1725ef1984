#pragma once
// Idempotency keys (table idempotency_records), per user: claimed at the start of the
// transaction that makes a change and given that change's result before it commits, so a
// crash leaves neither a change without its key nor a key without its change.

#include <cstdint>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
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

struct StoredKey {
  std::string method;
  std::string request_sha256;  // 32 bytes
  int64_t result_id = 0;
};

enum class ClaimResult { kClaimed, kReplay, kReused };

// Claims the key in `tx`. A concurrent transaction holding the same key makes this wait until
// it commits (then kReplay with its result) or rolls back (then kClaimed).
ClaimResult Claim(pqxx::transaction_base& tx, const IdempotencyClaim& claim, int64_t* result_id);
// Gives the claimed key its result.
void RecordResult(pqxx::transaction_base& tx, const IdempotencyClaim& claim, int64_t result_id);
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
