#include "db/transaction_store.h"

#include <pqxx/pqxx>

#include "db/paged_stream.h"

namespace zeva::db {
namespace {

#define ZEVA_TRANSACTION_COLUMNS \
  "id, type::text, transaction_amount, credits, floor(extract(epoch FROM updated))::bigint "

// Keyset pagination on id: each batch starts after the last row sent.
constexpr Statement kListTransactions{"list_transactions",
                                      "SELECT " ZEVA_TRANSACTION_COLUMNS
                                      "FROM transactions WHERE id > $1 ORDER BY id LIMIT $2"};
constexpr Statement kListTransactionsOfOrganization{
    "list_transactions_of_organization",
    "SELECT " ZEVA_TRANSACTION_COLUMNS
    "FROM transactions WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"};

#undef ZEVA_TRANSACTION_COLUMNS

}  // namespace

const std::vector<Statement>& TransactionStore::Statements() {
  static const std::vector<Statement> statements{kListTransactions,
                                                 kListTransactionsOfOrganization};
  return statements;
}

absl::Status TransactionStore::List(const Scope& scope, const Budget& budget,
                                    const RowSink<TransactionRecord>& sink) {
  int64_t after_id = 0;
  TransactionRecord record;  // reused: no allocation per row
  return StreamPages(
      pool_, budget,
      [&](pqxx::transaction_base& tx) {
        return scope.organization_id
                   ? tx.exec_prepared(kListTransactionsOfOrganization.name, *scope.organization_id,
                                      after_id, kStreamPageSize)
                   : tx.exec_prepared(kListTransactions.name, after_id, kStreamPageSize);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        record.id = row[0].as<int64_t>();
        record.type = row[1].as<std::string>();
        record.amount_cents = row[2].as<int64_t>();
        record.credits = row[3].as<int64_t>();
        record.updated_unix_seconds = row[4].as<int64_t>();
        after_id = record.id;
        return sink(record);
      });
}

}  // namespace zeva::db
