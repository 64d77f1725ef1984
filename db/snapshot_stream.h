#pragma once
// Streams a query's rows to a caller without holding them all: batches fetched by keyset
// pagination inside one read-only, repeatable-read transaction (one consistent snapshot),
// on one pooled connection, under the call's deadline.

#include <functional>
#include <pqxx/result>
#include <pqxx/transaction_base>

#include "absl/status/status.h"
#include "db/pool.h"

namespace zeva::db {

// Rows fetched per round trip.
inline constexpr int kStreamBatchSize = 500;

// `next_batch` runs the next page's statement (at most kStreamBatchSize rows, starting after
// the last row `on_row` saw); `on_row` handles one row and returns false to stop early
// (CANCELLED) or an error to abort. Ends when a page comes back short. Never retried once a
// row went out: a retry would repeat rows the caller already has.
absl::Status StreamInSnapshot(
    ConnectionPool& pool, Clock::time_point deadline,
    const std::function<pqxx::result(pqxx::transaction_base&)>& next_batch,
    const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row);

}  // namespace zeva::db
