#pragma once
// PostgreSQL's side of a benchmark: statements executed (pg_stat_statements), for round
// trips per call, and the ledger audit (db/ledger_audit) as `zeva-bench audit`.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace zeva::bench {

// Runs `statement` in a transaction of its own and returns the first row's first column as
// text ("" when there is none, or it is NULL). Throws on failure (benchmark set-up).
std::string QueryValue(const std::string& database_url, const std::string& statement);

// Waits until every outbox event after `seq_before` (an outbox_events.seq) is marked published,
// polling every 100 ms for at most `timeout`; returns whether they all were.
bool WaitUntilPublished(const std::string& database_url, const std::string& seq_before,
                        std::chrono::milliseconds timeout);

// Statements executed so far on the server's database (sum of pg_stat_statements.calls);
// NOT_FOUND when `database_url` is empty.
absl::StatusOr<int64_t> StatementsExecuted(const std::string& database_url);

// zeva-bench audit --database-url URL [--ledger-only]: prints every violation of the ledger's
// and the outbox's invariants; exit 0 when there is none, 1 when there is, 2 when it cannot
// tell.
int AuditMain(const std::vector<std::string>& args);

}  // namespace zeva::bench
