#include "db/ledger_writes.h"

#include <pqxx/pqxx>

#include "absl/strings/str_join.h"

namespace zeva::db {
namespace {

// In the global order too: two postings creating the same missing accounts insert them in one
// order, so one waits for the other instead of each holding a row the other needs.
constexpr Statement kEnsureAccounts{
    "ledger_ensure_accounts",
    "INSERT INTO credit_accounts (organization_id, model_year, credit_class) "
    "SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::credit_class[]) "
    "AS k(organization_id, model_year, credit_class) "
    "ORDER BY organization_id, model_year, credit_class ON CONFLICT DO NOTHING"};
// Locks in the sort order (LockRows runs above the Sort): the global order of account locks.
constexpr Statement kLockAccounts{
    "ledger_lock_accounts",
    "SELECT organization_id, model_year, credit_class::text, posted, reserved "
    "FROM credit_accounts WHERE (organization_id, model_year, credit_class) IN "
    "(SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::credit_class[])) "
    "ORDER BY organization_id, model_year, credit_class FOR UPDATE"};
constexpr Statement kApplyToAccounts{
    "ledger_apply_to_accounts",
    "UPDATE credit_accounts a SET posted = a.posted + d.posted, "
    "reserved = a.reserved + d.reserved "
    "FROM unnest($1::bigint[], $2::smallint[], $3::credit_class[], $4::bigint[], $5::bigint[]) "
    "AS d(organization_id, model_year, credit_class, posted, reserved) "
    "WHERE a.organization_id = d.organization_id AND a.model_year = d.model_year "
    "AND a.credit_class = d.credit_class"};
// The journal and its entries in one statement (one round trip).
constexpr Statement kInsertJournal{
    "ledger_insert_journal",
    "WITH j AS (INSERT INTO credit_journals (kind, reference, posted_by, reason, issued_to, "
    "reverses_journal_id, application_id, model_year_report_id) VALUES ($1::journal_kind, $2, "
    "$3, $4, NULLIF($5::bigint, 0), NULLIF($6::bigint, 0), NULLIF($11::bigint, 0), "
    "NULLIF($12::bigint, 0)) "
    "RETURNING id) "
    "INSERT INTO credit_ledger_entries (journal_id, organization_id, model_year, credit_class, "
    "amount) SELECT j.id, d.* FROM j, unnest($7::bigint[], $8::smallint[], "
    "$9::credit_class[], $10::bigint[]) AS d RETURNING journal_id"};

struct KeyArrays {
  std::vector<std::string> organizations, years, classes;
  void Add(const AccountKey& a) {
    organizations.push_back(std::to_string(a.organization_id));
    years.push_back(std::to_string(a.key.model_year));
    classes.push_back(domain::ClassName(a.key.credit_class));
  }
};

}  // namespace

std::string ArrayLiteral(const std::vector<std::string>& items) {
  return "{" + absl::StrJoin(items, ",") + "}";
}

std::vector<AccountRow> LockAccounts(pqxx::transaction_base& tx,
                                     const std::vector<AccountKey>& accounts, bool create) {
  if (accounts.empty()) return {};
  KeyArrays a;
  for (const AccountKey& account : accounts) a.Add(account);
  auto lock = [&] {
    std::vector<AccountRow> rows;
    for (const pqxx::row& row : tx.exec_prepared(kLockAccounts.name, ArrayLiteral(a.organizations),
                                                 ArrayLiteral(a.years), ArrayLiteral(a.classes))) {
      rows.push_back(
          AccountRow{AccountKey{row[0].as<int64_t>(),
                                domain::CreditKey{row[1].as<int32_t>(),
                                                  domain::ClassNamed(row[2].as<std::string>())}},
                     row[3].as<int64_t>(), row[4].as<int64_t>()});
    }
    return rows;
  };
  // Missing accounts are created before any is locked, never in between: a posting that
  // locked existing accounts and then created others could hold a lock that a second posting
  // (which created its accounts first) waits for, while waiting for that posting's new row.
  // Both steps take the global order, so postings only ever wait, never deadlock.
  if (create) {
    tx.exec_prepared(kEnsureAccounts.name, ArrayLiteral(a.organizations), ArrayLiteral(a.years),
                     ArrayLiteral(a.classes));
  }
  return lock();
}

void ApplyToAccounts(pqxx::transaction_base& tx, const std::vector<AccountDelta>& deltas) {
  if (deltas.empty()) return;
  KeyArrays a;
  std::vector<std::string> posted, reserved;
  for (const AccountDelta& d : deltas) {
    a.Add(d.account);
    posted.push_back(std::to_string(d.posted));
    reserved.push_back(std::to_string(d.reserved));
  }
  tx.exec_prepared(kApplyToAccounts.name, ArrayLiteral(a.organizations), ArrayLiteral(a.years),
                   ArrayLiteral(a.classes), ArrayLiteral(posted), ArrayLiteral(reserved));
}

int64_t InsertJournal(pqxx::transaction_base& tx, const std::string& kind,
                      const std::string& reference, const std::string& posted_by,
                      const std::string& reason, int64_t issued_to, int64_t reverses_journal_id,
                      const std::vector<EntryLine>& entries, int64_t application_id,
                      int64_t model_year_report_id) {
  KeyArrays a;
  std::vector<std::string> amounts;
  for (const EntryLine& e : entries) {
    a.Add(e.account);
    amounts.push_back(std::to_string(e.amount));
  }
  // Every journal has entries, so the statement returns at least one row.
  return tx
      .exec_prepared(kInsertJournal.name, kind, reference, posted_by, reason, issued_to,
                     reverses_journal_id, ArrayLiteral(a.organizations), ArrayLiteral(a.years),
                     ArrayLiteral(a.classes), ArrayLiteral(amounts), application_id,
                     model_year_report_id)[0][0]
      .as<int64_t>();
}

const std::vector<Statement>& LedgerWriteStatements() {
  static const std::vector<Statement> statements{kEnsureAccounts, kLockAccounts, kApplyToAccounts,
                                                 kInsertJournal};
  return statements;
}

}  // namespace zeva::db
