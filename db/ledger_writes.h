#pragma once
// The writes every change of credits is made of, shared by the ledger's postings and the
// transfers' reservations and recordings, so that accounts are always locked the same way:
// in one global order (organization, model year, class), after everything else the
// transaction locks. Run inside a READ COMMITTED transaction that the caller commits.

#include <cstdint>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "db/statement.h"
#include "domain/credit_ledger.h"

namespace zeva::db {

// An organization's key, in the global lock order.
struct AccountKey {
  int64_t organization_id = 0;
  domain::CreditKey key;
  friend bool operator<(const AccountKey& a, const AccountKey& b) {
    return a.organization_id != b.organization_id ? a.organization_id < b.organization_id
                                                  : a.key < b.key;
  }
  friend bool operator==(const AccountKey& a, const AccountKey& b) {
    return a.organization_id == b.organization_id && a.key == b.key;
  }
};

struct AccountRow {
  AccountKey account;
  int64_t posted = 0;
  int64_t reserved = 0;
};

struct AccountDelta {
  AccountKey account;
  int64_t posted = 0;
  int64_t reserved = 0;
};

struct EntryLine {
  AccountKey account;
  int64_t amount = 0;
};

// Creates the missing supplier accounts among `accounts` (sorted, no repeats) when `create`,
// then locks them all in order and returns them (missing ones absent when !create).
std::vector<AccountRow> LockAccounts(pqxx::transaction_base& tx,
                                     const std::vector<AccountKey>& accounts, bool create);
// Adds the deltas to the locked accounts.
void ApplyToAccounts(pqxx::transaction_base& tx, const std::vector<AccountDelta>& deltas);
// A journal and its entries; returns the journal id. `application_id`: an ISSUANCE of a
// credit application; `model_year_report_id`: a REDUCTION of a model year report (0: none).
int64_t InsertJournal(pqxx::transaction_base& tx, const std::string& kind,
                      const std::string& reference, const std::string& posted_by,
                      const std::string& reason, int64_t issued_to, int64_t reverses_journal_id,
                      const std::vector<EntryLine>& entries, int64_t application_id = 0,
                      int64_t model_year_report_id = 0);

// PostgreSQL array literals for unnest().
std::string ArrayLiteral(const std::vector<std::string>& items);

const std::vector<Statement>& LedgerWriteStatements();

}  // namespace zeva::db
