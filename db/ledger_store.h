#pragma once
// The credit ledger (tables credit_accounts, credit_journals, credit_ledger_entries,
// idempotency_records). No gRPC types.
//
// Every posting runs in one READ COMMITTED transaction that
//   1. claims the caller's idempotency key (a concurrent duplicate waits on the key's row and
//      then finds the first one's result),
//   2. locks what the change depends on in one global order: the journal being reversed,
//      then every supplier account it touches, sorted by (organization, model year, class)
//      with SELECT ... ORDER BY ... FOR UPDATE, so two postings over the same accounts in any
//      order queue instead of deadlocking,
//   3. checks available balances under those locks, writes the journal, its entries and the
//      accounts' posted balances, and records the key's result, then commits.
// Serialization failures and deadlocks (which the order rules out, but a DBA's session may
// not) are retried a bounded number of times within the call's deadline. The database's own
// constraints (available >= 0, journals sum to zero, append-only ledger) back every rule.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/idempotency.h"
#include "db/pool.h"
#include "db/records.h"
#include "db/statement.h"
#include "db/vehicle_store.h"
#include "domain/credit_ledger.h"

namespace zeva::db {

enum class OrganizationKind { kMissing, kGovernment, kSupplier };

struct BalanceRow {
  domain::CreditKey key;
  int64_t posted = 0;
  int64_t reserved = 0;
};

struct EntryRecord {
  int64_t id = 0;
  int64_t journal_id = 0;
  std::string kind;  // ISSUANCE, TRANSFER, ADJUSTMENT, REVERSAL, REDUCTION
  int64_t organization_id = 0;
  domain::CreditKey key;
  int64_t amount = 0;  // signed hundredths
  std::string reference;
  int64_t posted_at_micros = 0;  // since the Unix epoch
};

struct JournalRecord {
  int64_t id = 0;
  std::string kind;
  std::string reference;
  std::string posted_by;
  int64_t posted_at_micros = 0;
  std::string reason;
  int64_t reverses_journal_id = 0;     // 0: none
  int64_t reversed_by_journal_id = 0;  // 0: not reversed
  int64_t application_id = 0;          // ISSUANCE of a credit application; 0: none
  int64_t model_year_report_id = 0;    // REDUCTION of a model year report; 0: none
  std::vector<EntryRecord> entries;
};

// A journal to post. ISSUANCE and ADJUSTMENT: `postings` for `supplier_id`, the opposite
// amounts for `government_id`. REVERSAL: the negated entries of `reverses_journal_id`. `key`:
// its idempotency key and the response stored with it, built from the new journal.
struct JournalPosting {
  KeyedChange<JournalRecord> key;
  std::string kind;
  std::string reference;
  std::string reason;
  std::string posted_by;
  int64_t supplier_id = 0;
  int64_t government_id = 0;
  domain::Postings postings;
  int64_t reverses_journal_id = 0;
};

struct PostOutcome {
  enum class Kind {
    kPosted,                  // journal_id is the new journal
    kReplayed,                // the key's earlier result: journal_id
    kKeyReused,               // the key was used for a different request
    kDuplicateReference,      // ISSUANCE: the supplier already has a journal with this reference
    kNoSuchJournal,           // REVERSAL: nothing to reverse
    kNotReversible,           // REVERSAL of a REVERSAL
    kReductionNotReversible,  // REVERSAL of a REDUCTION (COMPLIANCE.md: NOT_REVERSIBLE)
    kAlreadyReversed,         // REVERSAL: the journal has one
    kInsufficientCredits      // a supplier's available would go below zero: short_key, short_org
  };
  Kind kind = Kind::kPosted;
  int64_t journal_id = 0;
  domain::CreditKey short_key;
  int64_t short_organization_id = 0;
  // The response stored with the key (kDone, kReplayed); nullopt when replaying a key stored
  // before migration 0019.
  std::optional<std::string> response{};
};

class LedgerStore {
 public:
  explicit LedgerStore(ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<OrganizationKind> KindOf(int64_t organization_id, const Budget& budget);
  // Keys with posted or reserved not 0, by model year then class. The government's side is
  // derived: minus the suppliers' posted total per key.
  absl::StatusOr<std::vector<BalanceRow>> Balances(int64_t organization_id, bool government,
                                                   const Budget& budget);
  // The organization's entries with id > after_id, by id, at most `limit` (0: all), in pages.
  absl::Status ListEntries(int64_t organization_id, int64_t after_id, int64_t limit,
                           const Budget& budget, const RowSink<EntryRecord>& sink);
  // nullopt when there is no such journal, or `visible_to` is set and the journal has no
  // entry of that organization; then only that organization's entries are returned.
  absl::StatusOr<std::optional<JournalRecord>> Journal(int64_t journal_id,
                                                       std::optional<int64_t> visible_to,
                                                       const Budget& budget);
  absl::StatusOr<std::map<uint64_t, domain::IssuedVehicle>> VehiclesForIssuance(
      const std::vector<uint64_t>& vehicle_ids, const Budget& budget);

  absl::StatusOr<PostOutcome> Post(const JournalPosting& posting, const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
