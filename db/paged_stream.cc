#include "db/paged_stream.h"

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

}  // namespace zeva::db
