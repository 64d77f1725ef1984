#include "db/paged_stream.h"

#include <algorithm>
#include <pqxx/pqxx>

namespace zeva::db {

absl::Status StreamPages(ConnectionPool& pool, const Budget& budget,
                         const std::function<pqxx::result(pqxx::transaction_base&)>& next_page,
                         const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row) {
  while (true) {
    // One statement: no BEGIN/COMMIT round trips. A page read is safe to retry, so the pool's
    // retry on a broken connection applies; the rows already handed over are not read again.
    absl::StatusOr<pqxx::result> page =
        pool.Run<pqxx::result>(budget, [&](pqxx::connection& c) -> absl::StatusOr<pqxx::result> {
          pqxx::nontransaction tx(c);
          return next_page(tx);
        });
    if (!page.ok()) return page.status();
    // The result owns its rows: the connection is back in the pool while they are written.
    for (const pqxx::row& row : *page) {
      absl::StatusOr<bool> more = on_row(row);
      if (!more.ok()) return more.status();
      if (!*more) return absl::CancelledError("the client stopped reading");
    }
    if (page->size() < static_cast<size_t>(kStreamPageSize)) return absl::OkStatus();
  }
}

absl::Status StreamPagesUpTo(
    ConnectionPool& pool, const Budget& budget, int64_t limit,
    const std::function<pqxx::result(pqxx::transaction_base&, int64_t page_size)>& next_page,
    const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row) {
  int64_t sent = 0;
  bool reached_limit = false;
  absl::Status status = StreamPages(
      pool, budget,
      [&](pqxx::transaction_base& tx) {
        return next_page(
            tx, limit > 0 ? std::min<int64_t>(kStreamPageSize, limit - sent) : kStreamPageSize);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        absl::StatusOr<bool> more = on_row(row);
        if (!more.ok() || !*more) return more;
        if (limit > 0 && ++sent >= limit) {
          reached_limit = true;
          return false;
        }
        return true;
      });
  return reached_limit ? absl::OkStatus() : status;
}

}  // namespace zeva::db
