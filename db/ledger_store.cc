#include "db/ledger_store.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/paged_stream.h"

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
constexpr Statement kGovernmentBalances{
    "ledger_government_balances",
    "SELECT model_year, credit_class::text, -sum(posted), 0 FROM credit_accounts "
    "GROUP BY model_year, credit_class HAVING sum(posted) <> 0 ORDER BY model_year, credit_class"};
// Keyset pagination on id through credit_ledger_entries_organization (organization_id, id).
constexpr Statement kListEntries{
    "ledger_list_entries",
    "SELECT " ZEVA_ENTRY_COLUMNS
    "FROM credit_ledger_entries e JOIN credit_journals j ON j.id = e.journal_id "
    "WHERE e.organization_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"};
constexpr Statement kJournal{
    "ledger_journal",
    "SELECT j.id, j.kind::text, j.reference, j.posted_by, "
    "(extract(epoch FROM j.posted_at) * 1000000)::bigint, j.reason, "
    "coalesce(j.reverses_journal_id, 0), "
    "coalesce((SELECT r.id FROM credit_journals r WHERE r.reverses_journal_id = j.id), 0) "
    "FROM credit_journals j WHERE j.id = $1"};
constexpr Statement kJournalEntries{
    "ledger_journal_entries",
    "SELECT " ZEVA_ENTRY_COLUMNS
    "FROM credit_ledger_entries e JOIN credit_journals j ON j.id = e.journal_id "
    "WHERE e.journal_id = $1 ORDER BY e.id"};
constexpr Statement kVehiclesForIssuance{
    "ledger_vehicles_for_issuance",
    "SELECT id, organization_id, type, range, credits::text FROM vehicles "
    "WHERE id = ANY($1::bigint[])"};

// Posting, in the order a transaction runs them.
constexpr Statement kClaimKey{
    "ledger_claim_key",
    "INSERT INTO idempotency_records (username, idempotency_key, method, request_sha256, "
    "result_id) VALUES ($1, $2, $3, decode($4, 'hex'), 0) ON CONFLICT DO NOTHING RETURNING 1"};
constexpr Statement kFindKey{
    "ledger_find_key",
    "SELECT method, encode(request_sha256, 'hex'), result_id FROM idempotency_records "
    "WHERE username = $1 AND idempotency_key = $2"};
constexpr Statement kIssuanceReferenceTaken{
    "ledger_issuance_reference_taken",
    "SELECT 1 FROM credit_journals WHERE kind = 'ISSUANCE' AND issued_to = $1 AND reference = $2"};
constexpr Statement kLockJournal{
    "ledger_lock_journal",
    "SELECT kind::text, "
    "coalesce((SELECT r.id FROM credit_journals r WHERE r.reverses_journal_id = j.id), 0) "
    "FROM credit_journals j WHERE j.id = $1 FOR UPDATE"};
constexpr Statement kEntriesToReverse{
    "ledger_entries_to_reverse",
    "SELECT e.organization_id, e.model_year, e.credit_class::text, e.amount, "
    "o.organization_type = 'GOVERNMENT' "
    "FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id "
    "WHERE e.journal_id = $1 ORDER BY e.id"};
constexpr Statement kEnsureAccounts{
    "ledger_ensure_accounts",
    "INSERT INTO credit_accounts (organization_id, model_year, credit_class) "
    "SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::credit_class[]) "
    "ON CONFLICT DO NOTHING"};
// Locks in the sort order (LockRows runs above the Sort): the global order of account locks.
constexpr Statement kLockAccounts{
    "ledger_lock_accounts",
    "SELECT organization_id, model_year, credit_class::text, posted, reserved "
    "FROM credit_accounts WHERE (organization_id, model_year, credit_class) IN "
    "(SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::credit_class[])) "
    "ORDER BY organization_id, model_year, credit_class FOR UPDATE"};
constexpr Statement kInsertJournal{
    "ledger_insert_journal",
    "INSERT INTO credit_journals (kind, reference, posted_by, reason, issued_to, "
    "reverses_journal_id) VALUES ($1::journal_kind, $2, $3, $4, NULLIF($5, 0), NULLIF($6, 0)) "
    "RETURNING id"};
constexpr Statement kInsertEntries{
    "ledger_insert_entries",
    "INSERT INTO credit_ledger_entries (journal_id, organization_id, model_year, credit_class, "
    "amount) SELECT $1, * FROM unnest($2::bigint[], $3::smallint[], $4::credit_class[], "
    "$5::bigint[])"};
constexpr Statement kPostToAccounts{
    "ledger_post_to_accounts",
    "UPDATE credit_accounts a SET posted = a.posted + d.amount "
    "FROM unnest($1::bigint[], $2::smallint[], $3::credit_class[], $4::bigint[]) "
    "AS d(organization_id, model_year, credit_class, amount) "
    "WHERE a.organization_id = d.organization_id AND a.model_year = d.model_year "
    "AND a.credit_class = d.credit_class"};
constexpr Statement kSetKeyResult{
    "ledger_set_key_result",
    "UPDATE idempotency_records SET result_id = $3 WHERE username = $1 AND idempotency_key = $2"};

#undef ZEVA_ENTRY_COLUMNS

// Serialization failures and deadlocks retried, within the deadline.
constexpr int kMaxAttempts = 4;

domain::CreditClass ParseClass(const std::string& text) {
  return text == "A" ? domain::CreditClass::kA : domain::CreditClass::kB;
}

EntryRecord ToEntry(const pqxx::row& row) {
  EntryRecord e;
  e.id = row[0].as<int64_t>();
  e.journal_id = row[1].as<int64_t>();
  e.kind = row[2].as<std::string>();
  e.organization_id = row[3].as<int64_t>();
  e.key = domain::CreditKey{row[4].as<int32_t>(), ParseClass(row[5].as<std::string>())};
  e.amount = row[6].as<int64_t>();
  e.reference = row[7].as<std::string>();
  e.posted_at_micros = row[8].as<int64_t>();
  return e;
}

// One line of a journal to write: an organization's signed amount for a key.
struct Line {
  int64_t organization_id = 0;
  domain::CreditKey key;
  int64_t amount = 0;
  bool government = false;  // no account row: the government's side is derived
  bool operator<(const Line& other) const {
    return std::tie(organization_id, key) < std::tie(other.organization_id, other.key);
  }
};

// PostgreSQL array literals for unnest().
struct Arrays {
  std::vector<std::string> organizations, years, classes, amounts;
  explicit Arrays(const std::vector<Line>& lines) {
    for (const Line& l : lines) {
      organizations.push_back(std::to_string(l.organization_id));
      years.push_back(std::to_string(l.key.model_year));
      classes.push_back(domain::ClassName(l.key.credit_class));
      amounts.push_back(std::to_string(l.amount));
    }
  }
  static std::string Of(const std::vector<std::string>& items) {
    return "{" + absl::StrJoin(items, ",") + "}";
  }
};

}  // namespace

const std::vector<Statement>& LedgerStore::Statements() {
  static const std::vector<Statement> statements{kOrganizationKind,
                                                 kSupplierBalances,
                                                 kGovernmentBalances,
                                                 kListEntries,
                                                 kJournal,
                                                 kJournalEntries,
                                                 kVehiclesForIssuance,
                                                 kClaimKey,
                                                 kFindKey,
                                                 kIssuanceReferenceTaken,
                                                 kLockJournal,
                                                 kEntriesToReverse,
                                                 kEnsureAccounts,
                                                 kLockAccounts,
                                                 kInsertJournal,
                                                 kInsertEntries,
                                                 kPostToAccounts,
                                                 kSetKeyResult};
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
          out.push_back(BalanceRow{
              domain::CreditKey{row[0].as<int32_t>(), ParseClass(row[1].as<std::string>())},
              row[2].as<int64_t>(), row[3].as<int64_t>()});
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
        // One snapshot for the journal and its entries.
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
        const pqxx::result head = tx.exec_prepared(kJournal.name, journal_id);
        if (head.empty()) return std::nullopt;
        JournalRecord j;
        const pqxx::row row = head[0];
        j.id = row[0].as<int64_t>();
        j.kind = row[1].as<std::string>();
        j.reference = row[2].as<std::string>();
        j.posted_by = row[3].as<std::string>();
        j.posted_at_micros = row[4].as<int64_t>();
        j.reason = row[5].as<std::string>();
        j.reverses_journal_id = row[6].as<int64_t>();
        j.reversed_by_journal_id = row[7].as<int64_t>();
        for (const pqxx::row& entry : tx.exec_prepared(kJournalEntries.name, journal_id)) {
          EntryRecord e = ToEntry(entry);
          if (!visible_to || e.organization_id == *visible_to) j.entries.push_back(std::move(e));
        }
        tx.commit();
        if (visible_to && j.entries.empty()) return std::nullopt;
        return j;
      });
}

absl::StatusOr<std::map<uint64_t, domain::IssuedVehicle>> LedgerStore::VehiclesForIssuance(
    const std::vector<uint64_t>& vehicle_ids, const Budget& budget) {
  std::vector<std::string> ids;
  ids.reserve(vehicle_ids.size());
  for (uint64_t id : vehicle_ids) ids.push_back(std::to_string(id));
  return pool_.Run<std::map<uint64_t, domain::IssuedVehicle>>(
      budget,
      [&](pqxx::connection& c) -> absl::StatusOr<std::map<uint64_t, domain::IssuedVehicle>> {
        pqxx::nontransaction tx(c);
        std::map<uint64_t, domain::IssuedVehicle> out;
        for (const pqxx::row& row : tx.exec_prepared(kVehiclesForIssuance.name, Arrays::Of(ids))) {
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

absl::StatusOr<std::optional<LedgerStore::StoredKey>> LedgerStore::FindKey(
    const std::string& username, const std::string& key, const Budget& budget) {
  return pool_.Run<std::optional<StoredKey>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<StoredKey>> {
        pqxx::nontransaction tx(c);
        const pqxx::result rows = tx.exec_prepared(kFindKey.name, username, key);
        if (rows.empty()) return std::nullopt;
        return StoredKey{rows[0][0].as<std::string>(),
                         absl::HexStringToBytes(rows[0][1].as<std::string>()),
                         rows[0][2].as<int64_t>()};
      });
}

absl::StatusOr<PostOutcome> LedgerStore::Post(const JournalPosting& posting, const Budget& budget) {
  using Kind = PostOutcome::Kind;
  const std::string request_hex = absl::BytesToHexString(posting.claim.request_sha256);
  auto attempt = [&](pqxx::connection& c) -> absl::StatusOr<PostOutcome> {
    pqxx::work tx(c);
    const IdempotencyClaim& claim = posting.claim;
    // 1. The key. A concurrent request with the same key waits here until the first commits
    //    (then finds its result) or rolls back (then proceeds).
    if (tx.exec_prepared(kClaimKey.name, claim.username, claim.key, claim.method, request_hex)
            .empty()) {
      const pqxx::row stored = tx.exec_prepared1(kFindKey.name, claim.username, claim.key);
      if (stored[0].as<std::string>() != claim.method ||
          stored[1].as<std::string>() != request_hex) {
        return PostOutcome{Kind::kKeyReused, 0, {}, 0};
      }
      return PostOutcome{Kind::kReplayed, stored[2].as<int64_t>(), {}, 0};
    }

    // 2. The lines, and what they depend on.
    std::vector<Line> lines;
    if (posting.kind == "REVERSAL") {
      const pqxx::result original =
          tx.exec_prepared(kLockJournal.name, posting.reverses_journal_id);
      if (original.empty()) return PostOutcome{Kind::kNoSuchJournal, 0, {}, 0};
      if (original[0][0].as<std::string>() == "REVERSAL") {
        return PostOutcome{Kind::kNotReversible, 0, {}, 0};
      }
      if (original[0][1].as<int64_t>() != 0) {
        return PostOutcome{Kind::kAlreadyReversed, original[0][1].as<int64_t>(), {}, 0};
      }
      for (const pqxx::row& row :
           tx.exec_prepared(kEntriesToReverse.name, posting.reverses_journal_id)) {
        lines.push_back(
            Line{row[0].as<int64_t>(),
                 domain::CreditKey{row[1].as<int32_t>(), ParseClass(row[2].as<std::string>())},
                 -row[3].as<int64_t>(), row[4].as<bool>()});
      }
    } else {
      if (posting.kind == "ISSUANCE" &&
          !tx.exec_prepared(kIssuanceReferenceTaken.name, posting.supplier_id, posting.reference)
               .empty()) {
        return PostOutcome{Kind::kDuplicateReference, 0, {}, 0};
      }
      for (const auto& [key, amount] : posting.postings) {
        lines.push_back(Line{posting.supplier_id, key, amount, false});
        lines.push_back(Line{posting.government_id, key, -amount, true});
      }
    }
    std::sort(lines.begin(), lines.end());
    std::vector<Line> accounts;
    std::copy_if(lines.begin(), lines.end(), std::back_inserter(accounts),
                 [](const Line& l) { return !l.government; });

    // 3. The supplier accounts, locked in order, and their available balances.
    if (!accounts.empty()) {
      const Arrays a(accounts);
      tx.exec_prepared(kEnsureAccounts.name, Arrays::Of(a.organizations), Arrays::Of(a.years),
                       Arrays::Of(a.classes));
      const pqxx::result locked = tx.exec_prepared(kLockAccounts.name, Arrays::Of(a.organizations),
                                                   Arrays::Of(a.years), Arrays::Of(a.classes));
      for (const pqxx::row& row : locked) {
        const Line probe{
            row[0].as<int64_t>(),
            domain::CreditKey{row[1].as<int32_t>(), ParseClass(row[2].as<std::string>())}, 0,
            false};
        const auto line = std::lower_bound(accounts.begin(), accounts.end(), probe);
        const int64_t available = row[3].as<int64_t>() - row[4].as<int64_t>();
        if (line != accounts.end() && line->amount < 0 && available + line->amount < 0) {
          return PostOutcome{Kind::kInsufficientCredits, 0, line->key, line->organization_id};
        }
      }
    }

    // 4. The journal, its entries, the posted balances, the key's result.
    const int64_t journal_id =
        tx.exec_prepared1(kInsertJournal.name, posting.kind, posting.reference, posting.posted_by,
                          posting.reason, posting.kind == "ISSUANCE" ? posting.supplier_id : 0,
                          posting.reverses_journal_id)[0]
            .as<int64_t>();
    const Arrays all(lines);
    tx.exec_prepared(kInsertEntries.name, journal_id, Arrays::Of(all.organizations),
                     Arrays::Of(all.years), Arrays::Of(all.classes), Arrays::Of(all.amounts));
    if (!accounts.empty()) {
      const Arrays a(accounts);
      tx.exec_prepared(kPostToAccounts.name, Arrays::Of(a.organizations), Arrays::Of(a.years),
                       Arrays::Of(a.classes), Arrays::Of(a.amounts));
    }
    tx.exec_prepared(kSetKeyResult.name, claim.username, claim.key, journal_id);
    tx.commit();
    return PostOutcome{Kind::kPosted, journal_id, {}, 0};
  };

  absl::StatusOr<PostOutcome> outcome = absl::UnknownError("not run");
  for (int tries = 1;; ++tries) {
    outcome = pool_.Run<PostOutcome>(budget, attempt);
    if (!absl::IsAborted(outcome.status()) || tries == kMaxAttempts ||
        Clock::now() >= budget.deadline) {
      break;
    }
  }
  // A concurrent issuance with the same reference got past the check above first: its unique
  // index refused this one.
  if (absl::IsAlreadyExists(outcome.status()) &&
      absl::StrContains(outcome.status().message(), "credit_journals_issuance_reference")) {
    return PostOutcome{Kind::kDuplicateReference, 0, {}, 0};
  }
  return outcome;
}

}  // namespace zeva::db
