#pragma once
// Streams a query's rows to a caller without holding them all: batches fetched by keyset
// pagination inside one read-only, repeatable-read transaction (one consistent snapshot),
// on one pooled connection, under the call's deadline.

#include <functional>
#include <pqxx/result>
#include <pqxx/transaction_base>

#include "absl/status/status.h"
#include "db/pool.h"
#include "db/statement.h"

namespace zeva::db {

// Rows fetched per round trip.
inline constexpr int kStreamBatchSize = 500;

// Plans each page for its actual parameters, for this transaction only. After five executions
// PostgreSQL may reuse a generic plan, which cannot tell a small organization from a large
// one: for `organization_id = $1 AND id > $2 ORDER BY id` it walked the primary key and
// filtered out every other organization's rows (a 100-row list took 30 ms beside a 10^5-row
// organization; see the README, "Performance"); the vehicle list fell back to a full scan.
// Planning these one-table queries costs far less than that.
inline constexpr Statement kCustomPlans{
    "custom_plans", "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"};

// `next_batch` runs the next page's statement (at most kStreamBatchSize rows, starting after
// the last row `on_row` saw); `on_row` handles one row and returns false to stop early
// (CANCELLED) or an error to abort. Ends when a page comes back short. Never retried once a
// row went out: a retry would repeat rows the caller already has.
absl::Status StreamInSnapshot(
    ConnectionPool& pool, Clock::time_point deadline,
    const std::function<pqxx::result(pqxx::transaction_base&)>& next_batch,
    const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row);

}  // namespace zeva::db
