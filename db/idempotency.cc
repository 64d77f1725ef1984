#include "db/idempotency.h"

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"

namespace zeva::db {
namespace {

constexpr Statement kClaimKey{
    "idempotency_claim_key",
    "INSERT INTO idempotency_records (username, idempotency_key, method, request_sha256, "
    "result_id) VALUES ($1, $2, $3, decode($4, 'hex'), 0) ON CONFLICT DO NOTHING RETURNING 1"};
constexpr Statement kFindKey{
    "idempotency_find_key",
    "SELECT method, encode(request_sha256, 'hex'), result_id, encode(response, 'hex') "
    "FROM idempotency_records WHERE username = $1 AND idempotency_key = $2"};
constexpr Statement kSetKeyResult{
    "idempotency_set_result",
    "UPDATE idempotency_records SET result_id = $3, response = decode($4, 'hex') "
    "WHERE username = $1 AND idempotency_key = $2"};

StoredResult ResultOf(const pqxx::row& stored) {
  StoredResult result{stored[2].as<int64_t>(), std::nullopt};
  if (!stored[3].is_null()) result.response = absl::HexStringToBytes(stored[3].as<std::string>());
  return result;
}

}  // namespace

ClaimResult Claim(pqxx::transaction_base& tx, const IdempotencyClaim& claim,
                  StoredResult* replayed) {
  const std::string hex = absl::BytesToHexString(claim.request_sha256);
  if (!tx.exec_prepared(kClaimKey.name, claim.username, claim.key, claim.method, hex).empty()) {
    return ClaimResult::kClaimed;
  }
  const pqxx::row stored = tx.exec_prepared1(kFindKey.name, claim.username, claim.key);
  if (stored[0].as<std::string>() != claim.method || stored[1].as<std::string>() != hex) {
    return ClaimResult::kReused;
  }
  *replayed = ResultOf(stored);
  return ClaimResult::kReplay;
}

std::string RecordResult(pqxx::transaction_base& tx, const IdempotencyClaim& claim,
                         int64_t result_id, std::string response) {
  tx.exec_prepared(kSetKeyResult.name, claim.username, claim.key, result_id,
                   absl::BytesToHexString(response));
  return response;
}

absl::StatusOr<std::optional<StoredKey>> IdempotencyStore::Find(const std::string& username,
                                                                const std::string& key,
                                                                const Budget& budget) {
  return pool_.Run<std::optional<StoredKey>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<StoredKey>> {
        pqxx::nontransaction tx(c);
        const pqxx::result rows = tx.exec_prepared(kFindKey.name, username, key);
        if (rows.empty()) return std::nullopt;
        return StoredKey{rows[0][0].as<std::string>(),
                         absl::HexStringToBytes(rows[0][1].as<std::string>()), ResultOf(rows[0])};
      });
}

const std::vector<Statement>& IdempotencyStatements() {
  static const std::vector<Statement> statements{kClaimKey, kFindKey, kSetKeyResult};
  return statements;
}

}  // namespace zeva::db
