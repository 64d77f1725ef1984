#pragma once
// Streams a query's rows to a caller page by page, never holding a pooled connection while
// the caller is being written to: a page is fetched on a lease (one statement, bounded by the
// call's deadline), the connection goes back to the pool, and only then are the page's rows
// handed over. A client that stops reading (HTTP/2 flow control) therefore blocks only its
// own call, never a connection that other callers need.
//
// Pages are keyset-paginated (each starts after the last row handed over), so rows come in
// order with none repeated or skipped among those that exist throughout the stream. Each page
// is its own snapshot: a row committed or changed meanwhile appears as of the page that reads
// it; nothing holds a transaction open across pages.

#include <cstdint>
#include <functional>
#include <pqxx/result>
#include <pqxx/transaction>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "db/pool.h"

namespace zeva::db {

// Rows fetched per round trip.
inline constexpr int kStreamPageSize = 500;

// `next_page` runs the next page's statement (at most kStreamPageSize rows, starting after the
// last row `on_row` saw); `on_row` handles one row and returns false to stop early
// (CANCELLED) or an error to abort. Ends when a page comes back short.
absl::Status StreamPages(ConnectionPool& pool, const Budget& budget,
                         const std::function<pqxx::result(pqxx::transaction_base&)>& next_page,
                         const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row);

// StreamPages for a listing of at most `limit` rows (0: no limit): `next_page` is told how
// many rows the page may hold, `on_row` sees at most `limit` rows, and reaching the limit is
// a normal end (OK), not a client that stopped reading.
absl::Status StreamPagesUpTo(
    ConnectionPool& pool, const Budget& budget, int64_t limit,
    const std::function<pqxx::result(pqxx::transaction_base&, int64_t page_size)>& next_page,
    const std::function<absl::StatusOr<bool>(const pqxx::row&)>& on_row);

// A workflow table's listing (transfers, credit applications, model year reports): pages of
// `page_ids` (at most kListPageSize ids after `after_id`, in order) whose records `load` reads
// in the same snapshot; `sink` gets the records `visible` keeps, at most `limit` (0: no limit),
// and returns false when the client stops reading (CANCELLED). As above, no connection is held
// while `sink` writes.
inline constexpr int64_t kListPageSize = 100;

template <typename Record>
absl::Status ListInPages(
    ConnectionPool& pool, const Budget& budget, int64_t after_id, int64_t limit,
    const std::function<std::vector<std::string>(pqxx::transaction_base&, int64_t after_id)>&
        page_ids,
    const std::function<std::vector<Record>(pqxx::transaction_base&,
                                            const std::vector<std::string>& ids)>& load,
    const std::function<bool(const Record&)>& visible,
    const std::function<bool(const Record&)>& sink) {
  int64_t sent = 0;
  while (true) {
    bool last_page = false;
    auto page = pool.Run<std::vector<Record>>(
        budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<Record>> {
          pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
          const std::vector<std::string> ids = page_ids(tx, after_id);
          last_page = static_cast<int64_t>(ids.size()) < kListPageSize;
          std::vector<Record> loaded = ids.empty() ? std::vector<Record>{} : load(tx, ids);
          tx.commit();
          return loaded;
        });
    if (!page.ok()) return page.status();
    for (const Record& r : *page) {
      after_id = r.id;
      if (!visible(r)) continue;
      if (!sink(r)) return absl::CancelledError("the client stopped reading");
      if (limit > 0 && ++sent >= limit) return absl::OkStatus();
    }
    if (last_page) return absl::OkStatus();
  }
}

}  // namespace zeva::db
