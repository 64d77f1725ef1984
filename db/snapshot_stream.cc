#include "db/snapshot_stream.h"

#include <pqxx/pqxx>

#include "db/deadline.h"

namespace zeva::db {

absl::Status StreamInSnapshot(
    ConnectionPool& pool, Clock::time_point deadline,
    const std::function<pqxx::result(pqxx::transaction_base&)>& next_batch,
    const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row) {
  bool sent_any = false;
  return pool
      .Run<bool>(deadline,
                 [&](pqxx::connection& c) -> absl::StatusOr<bool> {
                   if (sent_any)
                     return absl::UnavailableError("database connection lost mid-stream");
                   pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
                   ApplyDeadline(tx, deadline);
                   tx.exec_prepared(kCustomPlans.name);
                   while (true) {
                     const pqxx::result rows = next_batch(tx);
                     for (const pqxx::row& row : rows) {
                       absl::StatusOr<bool> more = on_row(row);
                       if (!more.ok()) return more.status();
                       if (!*more) return absl::CancelledError("the client stopped reading");
                       sent_any = true;
                     }
                     if (rows.size() < static_cast<size_t>(kStreamBatchSize)) break;
                   }
                   tx.commit();
                   return true;
                 })
      .status();
}

}  // namespace zeva::db
