#include "db/ledger_store.h"

#include <algorithm>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/event_writes.h"
#include "db/idempotency.h"
#include "db/ledger_writes.h"
#include "db/paged_stream.h"
#include "domain/refusal.h"

namespace zeva::db {
namespace {

#define ZEVA_ENTRY_COLUMNS                                                                    \
  "e.id, e.journal_id, j.kind::text, e.organization_id, e.model_year, e.credit_class::text, " \
  "e.amount, j.reference, (extract(epoch FROM j.posted_at) * 1000000)::bigint "

constexpr Statement kOrganizationKind{
    "ledger_organization_kind",
    "SELECT organization_type = 'GOVERNMENT' FROM organizations WHERE id = $1"};
constexpr Statement kSupplierBalances{
    "ledger_supplier_balances",
    "SELECT model_year, credit_class::text, posted, reserved FROM credit_accounts "
    "WHERE organization_id = $1 AND (posted <> 0 OR reserved <> 0) "
    "ORDER BY model_year, credit_class"};
// sum() of bigint is numeric, unbounded: read as text and parsed with a check (BalanceOf), not
// converted by libpqxx, which throws beyond int64.
constexpr Statement kGovernmentBalances{
    "ledger_government_balances",
    "SELECT model_year, credit_class::text, (-sum(posted))::text, '0' FROM credit_accounts "
    "GROUP BY model_year, credit_class HAVING sum(posted) <> 0 ORDER BY model_year, credit_class"};
// Keyset pagination on id through credit_ledger_entries_organization (organization_id, id).
constexpr Statement kListEntries{
    "ledger_list_entries",
    "SELECT " ZEVA_ENTRY_COLUMNS
    "FROM credit_ledger_entries e JOIN credit_journals j ON j.id = e.journal_id "
    "WHERE e.organization_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"};
// A journal whole, head and entries, in one statement (one round trip, one snapshot): the
// entry columns first (ToEntry), then the head's.
constexpr Statement kJournal{
    "ledger_journal",
    "SELECT " ZEVA_ENTRY_COLUMNS
    ", j.posted_by, j.reason, coalesce(j.reverses_journal_id, 0), "
    "coalesce((SELECT r.id FROM credit_journals r WHERE r.reverses_journal_id = j.id), 0), "
    "coalesce(j.application_id, 0), coalesce(j.model_year_report_id, 0) "
    "FROM credit_journals j JOIN credit_ledger_entries e ON e.journal_id = j.id "
    "WHERE j.id = $1 ORDER BY e.id"};
constexpr Statement kVehiclesForIssuance{
    "ledger_vehicles_for_issuance",
    "SELECT id, organization_id, type, range, credits::text FROM vehicles "
    "WHERE id = ANY($1::bigint[])"};

// Posting: what a change depends on, read under lock.
constexpr Statement kIssuanceReferenceTaken{
    "ledger_issuance_reference_taken",
    "SELECT 1 FROM credit_journals WHERE kind = 'ISSUANCE' AND issued_to = $1 AND reference = $2"};
constexpr Statement kLockJournal{"ledger_lock_journal",
                                 "SELECT kind::text FROM credit_journals WHERE id = $1 FOR UPDATE"};
// A statement of its own, after the lock: in READ COMMITTED it takes a new snapshot, so it sees
// a reversal that a concurrent transaction committed while this one waited for the lock (a
// subquery of the locking statement would still use that statement's older snapshot).
constexpr Statement kReversalOf{"ledger_reversal_of",
                                "SELECT id FROM credit_journals WHERE reverses_journal_id = $1"};
constexpr Statement kEntriesToReverse{
    "ledger_entries_to_reverse",
    "SELECT e.organization_id, e.model_year, e.credit_class::text, e.amount, "
    "o.organization_type = 'GOVERNMENT' "
    "FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id "
    "WHERE e.journal_id = $1 ORDER BY e.id"};

#undef ZEVA_ENTRY_COLUMNS

EntryRecord ToEntry(const pqxx::row& row) {
  EntryRecord e;
  e.id = row[0].as<int64_t>();
  e.journal_id = row[1].as<int64_t>();
  e.kind = row[2].as<std::string>();
  e.organization_id = row[3].as<int64_t>();
  e.key = domain::CreditKey{row[4].as<int32_t>(), domain::ClassNamed(row[5].as<std::string>())};
  e.amount = row[6].as<int64_t>();
  e.reference = row[7].as<std::string>();
  e.posted_at_micros = row[8].as<int64_t>();
  return e;
}

// A balance row; posted and reserved as bigint or as the text of a numeric sum.
absl::StatusOr<BalanceRow> BalanceOf(const pqxx::row& row) {
  BalanceRow balance{
      domain::CreditKey{row[0].as<int32_t>(), domain::ClassNamed(row[1].as<std::string>())}, 0, 0};
  if (!absl::SimpleAtoi(row[2].c_str(), &balance.posted) ||
      !absl::SimpleAtoi(row[3].c_str(), &balance.reserved)) {
    return domain::Refusal(
        absl::StatusCode::kOutOfRange,
        absl::StrCat("the credits of ", domain::KeyName(balance.key),
                     " add up to more than an int64 of hundredths carries (", row[2].c_str(), ")"),
        "OUT_OF_RANGE");
  }
  return balance;
}

// The journal and its entries (those of `visible_to` only, when set), from one statement: one
// snapshot (every journal has entries, so no row means no journal).
std::optional<JournalRecord> LoadJournal(pqxx::transaction_base& tx, int64_t journal_id,
                                         std::optional<int64_t> visible_to) {
  const pqxx::result rows = tx.exec_prepared(kJournal.name, journal_id);
  if (rows.empty()) return std::nullopt;
  JournalRecord j;
  const pqxx::row head = rows[0];
  j.id = head[1].as<int64_t>();
  j.kind = head[2].as<std::string>();
  j.reference = head[7].as<std::string>();
  j.posted_at_micros = head[8].as<int64_t>();
  j.posted_by = head[9].as<std::string>();
  j.reason = head[10].as<std::string>();
  j.reverses_journal_id = head[11].as<int64_t>();
  j.reversed_by_journal_id = head[12].as<int64_t>();
  j.application_id = head[13].as<int64_t>();
  j.model_year_report_id = head[14].as<int64_t>();
  for (const pqxx::row& entry : rows) {
    EntryRecord e = ToEntry(entry);
    if (!visible_to || e.organization_id == *visible_to) j.entries.push_back(std::move(e));
  }
  if (visible_to && j.entries.empty()) return std::nullopt;
  return j;
}

// LedgerStore::Post, step by step, in one transaction: returning without commit rolls back
// everything written before.

// 2. The entries a posting makes, and the supplier accounts they change (the government's is
//    derived from them).
struct PlannedEntries {
  std::vector<EntryLine> entries;
  std::vector<AccountKey> suppliers;
};

// A reversal: the original journal's entries negated, after locking it; a refusal when it is
// missing, not reversible or already reversed.
std::optional<PostOutcome> PlanReversal(pqxx::transaction_base& tx, int64_t reverses_journal_id,
                                        PlannedEntries* planned) {
  using Kind = PostOutcome::Kind;
  const pqxx::result original = tx.exec_prepared(kLockJournal.name, reverses_journal_id);
  if (original.empty()) return PostOutcome{Kind::kNoSuchJournal, 0, {}, 0};
  if (original[0][0].as<std::string>() == "REVERSAL") {
    return PostOutcome{Kind::kNotReversible, 0, {}, 0};
  }
  if (original[0][0].as<std::string>() == "REDUCTION") {
    return PostOutcome{Kind::kReductionNotReversible, 0, {}, 0};
  }
  const pqxx::result reversal = tx.exec_prepared(kReversalOf.name, reverses_journal_id);
  if (!reversal.empty()) {
    return PostOutcome{Kind::kAlreadyReversed, reversal[0][0].as<int64_t>(), {}, 0};
  }
  for (const pqxx::row& row : tx.exec_prepared(kEntriesToReverse.name, reverses_journal_id)) {
    const AccountKey account{
        row[0].as<int64_t>(),
        domain::CreditKey{row[1].as<int32_t>(), domain::ClassNamed(row[2].as<std::string>())}};
    planned->entries.push_back(EntryLine{account, -row[3].as<int64_t>()});
    if (!row[4].as<bool>()) planned->suppliers.push_back(account);  // the government's is derived
  }
  return std::nullopt;
}

// Any other kind: each posting to the supplier, mirrored on the government; a refusal when an
// issuance's reference is taken.
std::optional<PostOutcome> PlanPostings(pqxx::transaction_base& tx, const JournalPosting& posting,
                                        PlannedEntries* planned) {
  if (posting.kind == "ISSUANCE" &&
      !tx.exec_prepared(kIssuanceReferenceTaken.name, posting.supplier_id, posting.reference)
           .empty()) {
    return PostOutcome{PostOutcome::Kind::kDuplicateReference, 0, {}, 0};
  }
  for (const auto& [key, amount] : posting.postings) {
    planned->entries.push_back(EntryLine{AccountKey{posting.supplier_id, key}, amount});
    planned->entries.push_back(EntryLine{AccountKey{posting.government_id, key}, -amount});
    planned->suppliers.push_back(AccountKey{posting.supplier_id, key});
  }
  return std::nullopt;
}

// 3. The journal, its entries, its event, the key's result and response: everything but the
//    accounts, so that a supplier's account row (hot under load) is locked last and held only
//    for the lock, the change and the commit. Sorts `planned`; returns the journal's id and the
//    response stored with the key.
struct WrittenJournal {
  int64_t id = 0;
  std::string response;
};

absl::StatusOr<WrittenJournal> WriteJournal(pqxx::transaction_base& tx,
                                            const JournalPosting& posting,
                                            PlannedEntries& planned) {
  std::sort(planned.suppliers.begin(), planned.suppliers.end());
  std::sort(planned.entries.begin(), planned.entries.end(),
            [](const EntryLine& a, const EntryLine& b) { return a.account < b.account; });
  const int64_t journal_id =
      InsertJournal(tx, posting.kind, posting.reference, posting.posted_by, posting.reason,
                    posting.kind == "ISSUANCE" ? posting.supplier_id : 0,
                    posting.reverses_journal_id, planned.entries);
  std::vector<int64_t> organizations;
  for (const AccountKey& supplier : planned.suppliers) {  // sorted by organization
    if (organizations.empty() || organizations.back() != supplier.organization_id) {
      organizations.push_back(supplier.organization_id);
    }
  }
  WriteEvent(tx, domain::JournalPosted(journal_id, posting.kind, organizations), posting.posted_by,
             0, journal_id, organizations);
  const std::optional<JournalRecord> posted = LoadJournal(tx, journal_id, std::nullopt);
  if (!posted) return absl::InternalError(absl::StrCat("journal ", journal_id, " vanished"));
  return WrittenJournal{journal_id, RecordResult(tx, posting.key, journal_id, *posted)};
}

// 4. The supplier accounts, locked in order, checked and changed; a refusal when one would go
//    below what is reserved.
std::optional<PostOutcome> ChangeSupplierAccounts(pqxx::transaction_base& tx,
                                                  const PlannedEntries& planned) {
  std::map<AccountKey, int64_t> change;
  for (const EntryLine& e : planned.entries) change[e.account] += e.amount;
  std::vector<AccountDelta> deltas;
  for (const AccountRow& row : LockAccounts(tx, planned.suppliers, /*create=*/true)) {
    const int64_t amount = change[row.account];
    if (amount < 0 && row.posted - row.reserved + amount < 0) {
      return PostOutcome{PostOutcome::Kind::kInsufficientCredits, 0, row.account.key,
                         row.account.organization_id};
    }
    deltas.push_back(AccountDelta{row.account, amount, 0});
  }
  ApplyToAccounts(tx, deltas);
  return std::nullopt;
}

// After the retries: a unique index that refused the journal is the refusal a concurrent
// twin got past the checks above first.
absl::StatusOr<PostOutcome> RefusedByConstraint(absl::StatusOr<PostOutcome> outcome) {
  const absl::Status& status = outcome.status();
  if (!absl::IsAlreadyExists(status)) return outcome;
  // A concurrent issuance with the same reference.
  if (absl::StrContains(status.message(), "credit_journals_issuance_reference")) {
    return PostOutcome{PostOutcome::Kind::kDuplicateReference, 0, {}, 0};
  }
  // The same for a second reversal (the journal lock makes this a backstop only).
  if (absl::StrContains(status.message(), "credit_journals_reverses_journal_id_key")) {
    return PostOutcome{PostOutcome::Kind::kAlreadyReversed, 0, {}, 0};
  }
  return outcome;
}

}  // namespace

const std::vector<Statement>& LedgerStore::Statements() {
  static const std::vector<Statement> statements{
      kOrganizationKind, kSupplierBalances,    kGovernmentBalances,     kListEntries,
      kJournal,          kVehiclesForIssuance, kIssuanceReferenceTaken, kLockJournal,
      kReversalOf,       kEntriesToReverse};
  return statements;
}

absl::StatusOr<OrganizationKind> LedgerStore::KindOf(int64_t organization_id,
                                                     const Budget& budget) {
  return pool_.Run<OrganizationKind>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<OrganizationKind> {
        pqxx::nontransaction tx(c);
        const pqxx::result rows = tx.exec_prepared(kOrganizationKind.name, organization_id);
        if (rows.empty()) return OrganizationKind::kMissing;
        return rows[0][0].as<bool>() ? OrganizationKind::kGovernment : OrganizationKind::kSupplier;
      });
}

absl::StatusOr<std::vector<BalanceRow>> LedgerStore::Balances(int64_t organization_id,
                                                              bool government,
                                                              const Budget& budget) {
  return pool_.Run<std::vector<BalanceRow>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<BalanceRow>> {
        pqxx::nontransaction tx(c);
        const pqxx::result rows = government
                                      ? tx.exec_prepared(kGovernmentBalances.name)
                                      : tx.exec_prepared(kSupplierBalances.name, organization_id);
        std::vector<BalanceRow> out;
        out.reserve(rows.size());
        for (const pqxx::row& row : rows) {
          auto balance = BalanceOf(row);
          if (!balance.ok()) return balance.status();
          out.push_back(*balance);
        }
        return out;
      });
}

absl::Status LedgerStore::ListEntries(int64_t organization_id, int64_t after_id, int64_t limit,
                                      const Budget& budget, const RowSink<EntryRecord>& sink) {
  int64_t sent = 0;
  absl::Status status = StreamPages(
      pool_, budget,
      [&](pqxx::transaction_base& tx) {
        const int64_t page =
            limit > 0 ? std::min<int64_t>(kStreamPageSize, limit - sent) : kStreamPageSize;
        return tx.exec_prepared(kListEntries.name, organization_id, after_id, page);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        const EntryRecord entry = ToEntry(row);
        after_id = entry.id;
        ++sent;
        if (!sink(entry)) return false;
        if (limit > 0 && sent >= limit) return absl::CancelledError("limit reached");
        return true;
      });
  if (limit > 0 && sent >= limit && absl::IsCancelled(status) &&
      status.message() == "limit reached") {
    return absl::OkStatus();
  }
  return status;
}

absl::StatusOr<std::optional<JournalRecord>> LedgerStore::Journal(int64_t journal_id,
                                                                  std::optional<int64_t> visible_to,
                                                                  const Budget& budget) {
  return pool_.Run<std::optional<JournalRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<JournalRecord>> {
        pqxx::nontransaction tx(c);
        return LoadJournal(tx, journal_id, visible_to);
      });
}

absl::StatusOr<std::map<uint64_t, domain::IssuedVehicle>> LedgerStore::VehiclesForIssuance(
    const std::vector<uint64_t>& vehicle_ids, const Budget& budget) {
  std::vector<std::string> ids;
  ids.reserve(vehicle_ids.size());
  for (uint64_t id : vehicle_ids) {
    // Above 2^63-1 an id names no row (and is no bigint): not looked for, so not found.
    if (id <= static_cast<uint64_t>(INT64_MAX)) ids.push_back(std::to_string(id));
  }
  return pool_.Run<std::map<uint64_t, domain::IssuedVehicle>>(
      budget,
      [&](pqxx::connection& c) -> absl::StatusOr<std::map<uint64_t, domain::IssuedVehicle>> {
        pqxx::nontransaction tx(c);
        std::map<uint64_t, domain::IssuedVehicle> out;
        for (const pqxx::row& row :
             tx.exec_prepared(kVehiclesForIssuance.name, ArrayLiteral(ids))) {
          domain::IssuedVehicle v;
          v.organization_id = row[1].as<int64_t>();
          v.type = row[2].as<std::string>();
          v.range_km = row[3].as<uint32_t>();
          if (!domain::DecimalToHundredths(row[4].as<std::string>(), &v.credit_hundredths)) {
            return absl::InternalError(
                absl::StrCat("vehicle ", row[0].as<int64_t>(), " has unreadable credits"));
          }
          out.emplace(row[0].as<uint64_t>(), std::move(v));
        }
        return out;
      });
}

absl::StatusOr<PostOutcome> LedgerStore::Post(const JournalPosting& posting, const Budget& budget) {
  auto attempt = [&](pqxx::connection& c) -> absl::StatusOr<PostOutcome> {
    pqxx::work tx(c);
    // 1. The key. A concurrent request with the same key waits here until the first commits
    //    (then finds its result) or rolls back (then proceeds).
    if (auto earlier = ClaimOrEarlier(tx, posting.key.claim, &PostOutcome::journal_id)) {
      return *earlier;
    }
    PlannedEntries planned;
    if (auto refused = posting.kind == "REVERSAL"
                           ? PlanReversal(tx, posting.reverses_journal_id, &planned)
                           : PlanPostings(tx, posting, &planned)) {
      return *refused;
    }
    auto journal = WriteJournal(tx, posting, planned);
    if (!journal.ok()) return journal.status();
    if (auto refused = ChangeSupplierAccounts(tx, planned)) return *refused;
    tx.commit();
    return PostOutcome{
        PostOutcome::Kind::kPosted, journal->id, {}, 0, std::move(journal->response)};
  };
  return RefusedByConstraint(RunWithRetries<PostOutcome>(pool_, budget, attempt));
}

}  // namespace zeva::db
