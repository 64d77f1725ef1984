#include "db/notification_store.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "db/ledger_writes.h"
#include "db/paged_stream.h"

namespace zeva::db {
namespace {

// Keyset pagination on (username, id) through notifications_user / notifications_unread.
constexpr Statement kListNotifications{
    "notifications_list",
    "SELECT id, event_type, message, coalesce(transfer_id, 0), coalesce(journal_id, 0), "
    "(extract(epoch FROM created_at) * 1000000)::bigint, read_at IS NOT NULL, "
    "coalesce(icbc_import_id, 0), coalesce(application_id, 0), coalesce(model_year_report_id, 0) "
    "FROM notifications WHERE username = $1 AND id > $2 AND (NOT $3 OR read_at IS NULL) "
    "ORDER BY id LIMIT $4"};
constexpr Statement kMarkRead{
    "notifications_mark_read",
    "UPDATE notifications SET read_at = now() WHERE username = $1 AND read_at IS NULL "
    "AND (cardinality($2::bigint[]) = 0 OR id = ANY($2::bigint[]))"};
constexpr Statement kCountUnread{
    "notifications_count_unread",
    "SELECT count(*) FROM notifications WHERE username = $1 AND read_at IS NULL"};

}  // namespace

const std::vector<Statement>& NotificationStore::Statements() {
  static const std::vector<Statement> statements{kListNotifications, kMarkRead, kCountUnread};
  return statements;
}

absl::Status NotificationStore::List(const std::string& username, bool unread_only,
                                     int64_t after_id, int64_t limit, const Budget& budget,
                                     const RowSink<NotificationRecord>& sink) {
  return StreamPagesUpTo(
      pool_, budget, limit,
      [&](pqxx::transaction_base& tx, int64_t page) {
        return tx.exec_prepared(kListNotifications.name, username, after_id, unread_only, page);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        NotificationRecord n;
        n.id = row[0].as<int64_t>();
        n.event_type = row[1].as<std::string>();
        n.message = row[2].as<std::string>();
        n.transfer_id = row[3].as<int64_t>();
        n.journal_id = row[4].as<int64_t>();
        n.created_micros = row[5].as<int64_t>();
        n.read = row[6].as<bool>();
        n.icbc_import_id = row[7].as<int64_t>();
        n.application_id = row[8].as<int64_t>();
        n.model_year_report_id = row[9].as<int64_t>();
        after_id = n.id;
        return sink(n);
      });
}

absl::StatusOr<int64_t> NotificationStore::MarkRead(const std::string& username,
                                                    const std::vector<int64_t>& ids,
                                                    const Budget& budget) {
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (int64_t id : ids) texts.push_back(std::to_string(id));
  return pool_.Run<int64_t>(budget, [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::nontransaction tx(c);
    return static_cast<int64_t>(
        tx.exec_prepared(kMarkRead.name, username, ArrayLiteral(texts)).affected_rows());
  });
}

absl::StatusOr<int64_t> NotificationStore::CountUnread(const std::string& username,
                                                       const Budget& budget) {
  return pool_.Run<int64_t>(budget, [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::nontransaction tx(c);
    return tx.exec_prepared1(kCountUnread.name, username)[0].as<int64_t>();
  });
}

}  // namespace zeva::db
