#include "db/transfer_store.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "db/event_writes.h"
#include "db/ledger_writes.h"
#include "db/paged_stream.h"

namespace zeva::db {
namespace {

#define ZEVA_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// Transfers whole, in one statement (one round trip, one snapshot): the head's columns, then
// its lines and its history as JSON arrays (text: parsed by LoadTransfers).
constexpr Statement kTransfersWhole{
    "transfers_whole",
    "SELECT t.id, t.from_organization_id, t.to_organization_id, t.status::text, t.version, "
    "coalesce(t.journal_id, 0), " ZEVA_MICROS("t.created_at") ", " ZEVA_MICROS(
        "t.updated_at") ", f.name, o.name, "
                        "coalesce((SELECT json_agg(json_build_array(l.model_year, "
                        "l.credit_class, l.amount, l.price_per_credit_cents) ORDER BY l.line_no) "
                        "FROM credit_transfer_lines l WHERE l.transfer_id = t.id), '[]')::text, "
                        "coalesce((SELECT json_agg(json_build_array(h.seq, "
                        "coalesce(h.action::text, ''), coalesce(h.from_status::text, ''), "
                        "h.to_status::text, h.actor, h.actor_organization_id, h.comment, " ZEVA_MICROS(
                            "h.at") ") ORDER BY h.seq) "
                                    "FROM credit_transfer_history h WHERE h.transfer_id = t.id), "
                                    "'[]')::text "
                                    "FROM credit_transfers t JOIN organizations f ON f.id = "
                                    "t.from_organization_id "
                                    "JOIN organizations o ON o.id = t.to_organization_id "
                                    "WHERE t.id = ANY($1::bigint[]) ORDER BY t.id"};
// Keyset pagination on id; $2 = 0: every organization.
constexpr Statement kListTransferIds{
    "transfer_list_ids",
    "SELECT id FROM credit_transfers WHERE id > $1 "
    "AND ($2::bigint = 0 OR from_organization_id = $2 OR to_organization_id = $2) "
    "AND (cardinality($3::transfer_status[]) = 0 OR status = ANY($3::transfer_status[])) "
    "ORDER BY id LIMIT $4"};
constexpr Statement kSuppliers{
    "transfer_suppliers",
    "SELECT id, name FROM organizations WHERE organization_type = 'VEHICLE_SUPPLIER' "
    "AND id <> $1 ORDER BY name, id"};
constexpr Statement kInsertTransfer{
    "transfer_insert",
    "INSERT INTO credit_transfers (from_organization_id, to_organization_id) VALUES ($1, $2) "
    "RETURNING id"};
constexpr Statement kInsertLines{
    "transfer_insert_lines",
    "INSERT INTO credit_transfer_lines (transfer_id, line_no, model_year, credit_class, amount, "
    "price_per_credit_cents) SELECT $1, * FROM unnest($2::smallint[], $3::smallint[], "
    "$4::credit_class[], $5::bigint[], $6::bigint[])"};
constexpr Statement kDeleteLines{"transfer_delete_lines",
                                 "DELETE FROM credit_transfer_lines WHERE transfer_id = $1"};
constexpr Statement kInsertEvent{
    "transfer_insert_event",
    "INSERT INTO credit_transfer_history (transfer_id, seq, action, from_status, to_status, "
    "actor, actor_organization_id, roles, comment) VALUES ($1, $2, "
    "NULLIF($3, '')::transfer_action, NULLIF($4, '')::transfer_status, $5::transfer_status, "
    "$6, $7, $8, $9)"};
// The status change and its history row in one round trip (seq: the transfer's next).
constexpr Statement kAppendHistory{
    "transfer_append_history",
    "WITH s AS (UPDATE credit_transfers SET status = $2::transfer_status, version = version + 1, "
    "journal_id = NULLIF($3::bigint, 0), updated_at = now() WHERE id = $1) "
    "INSERT INTO credit_transfer_history (transfer_id, seq, action, from_status, to_status, "
    "actor, actor_organization_id, roles, comment) "
    "SELECT $1::bigint, coalesce(max(seq), 0) + 1, $4::transfer_action, $5::transfer_status, "
    "$2::transfer_status, $6::varchar, $7::bigint, $8::varchar, $9::text "
    "FROM credit_transfer_history WHERE transfer_id = $1::bigint"};
constexpr Statement kLockTransfer{
    "transfer_lock",
    "SELECT id, from_organization_id, to_organization_id, status::text, version "
    "FROM credit_transfers WHERE id = $1 FOR UPDATE"};
constexpr Statement kLockedLines{
    "transfer_locked_lines",
    "SELECT model_year, credit_class::text, amount FROM credit_transfer_lines "
    "WHERE transfer_id = $1 ORDER BY line_no"};
constexpr Statement kSetPartner{
    "transfer_set_partner",
    "UPDATE credit_transfers SET to_organization_id = $2, version = version + 1, "
    "updated_at = now() WHERE id = $1"};

#undef ZEVA_MICROS

// The transfers with these ids, whole (heads, lines, history), in id order.
std::vector<TransferRecord> LoadTransfers(pqxx::transaction_base& tx,
                                          const std::vector<std::string>& ids) {
  std::vector<TransferRecord> out;
  for (const pqxx::row& row : tx.exec_prepared(kTransfersWhole.name, ArrayLiteral(ids))) {
    TransferRecord t;
    t.id = row[0].as<int64_t>();
    t.from_organization_id = row[1].as<int64_t>();
    t.to_organization_id = row[2].as<int64_t>();
    t.status = domain::StatusNamed(row[3].as<std::string>());
    t.version = row[4].as<int>();
    t.journal_id = row[5].as<int64_t>();
    t.created_micros = row[6].as<int64_t>();
    t.updated_micros = row[7].as<int64_t>();
    t.from_organization_name = row[8].as<std::string>();
    t.to_organization_name = row[9].as<std::string>();
    for (const auto& l : nlohmann::json::parse(row[10].as<std::string>())) {
      t.lines.push_back(domain::TransferLine{
          domain::CreditKey{l[0].get<int32_t>(), domain::ClassNamed(l[1].get<std::string>())},
          l[2].get<int64_t>(), l[3].get<int64_t>()});
    }
    for (const auto& h : nlohmann::json::parse(row[11].as<std::string>())) {
      TransferEventRecord e;
      e.seq = h[0].get<int>();
      e.action = h[1].get<std::string>();
      e.from_status = h[2].get<std::string>();
      e.to_status = h[3].get<std::string>();
      e.actor = h[4].get<std::string>();
      e.actor_organization_id = h[5].get<int64_t>();
      e.comment = h[6].get<std::string>();
      e.at_micros = h[7].get<int64_t>();
      t.history.push_back(std::move(e));
    }
    out.push_back(std::move(t));
  }
  return out;
}

void InsertLines(pqxx::transaction_base& tx, int64_t transfer_id,
                 const std::vector<domain::TransferLine>& lines) {
  std::vector<std::string> numbers, years, classes, amounts, prices;
  for (size_t i = 0; i < lines.size(); ++i) {
    numbers.push_back(std::to_string(i + 1));
    years.push_back(std::to_string(lines[i].key.model_year));
    classes.push_back(domain::ClassName(lines[i].key.credit_class));
    amounts.push_back(std::to_string(lines[i].amount));
    prices.push_back(std::to_string(lines[i].price_per_credit_cents));
  }
  tx.exec_prepared(kInsertLines.name, transfer_id, ArrayLiteral(numbers), ArrayLiteral(years),
                   ArrayLiteral(classes), ArrayLiteral(amounts), ArrayLiteral(prices));
}

// Gives the claimed key the changed transfer and its response.
std::string RecordTransfer(pqxx::transaction_base& tx, const KeyedChange<TransferRecord>& keyed,
                           int64_t transfer_id) {
  return RecordResult(tx, keyed, transfer_id,
                      LoadTransfers(tx, {std::to_string(transfer_id)}).front());
}

TransferHead LockTransfer(pqxx::transaction_base& tx, int64_t transfer_id, bool* found) {
  const pqxx::result rows = tx.exec_prepared(kLockTransfer.name, transfer_id);
  *found = !rows.empty();
  if (!*found) return {};
  return TransferHead{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(), rows[0][2].as<int64_t>(),
                      domain::StatusNamed(rows[0][3].as<std::string>()), rows[0][4].as<int>()};
}

struct Line {
  domain::CreditKey key;
  int64_t amount;
};

// What a transition's credit effect does to each account, by account (the global lock order).
std::map<AccountKey, AccountDelta> AccountDeltas(domain::CreditEffect effect,
                                                 const TransferHead& head,
                                                 const std::vector<Line>& lines) {
  using domain::CreditEffect;
  std::map<AccountKey, AccountDelta> deltas;
  for (const Line& line : lines) {
    const AccountKey seller{head.from_organization_id, line.key};
    AccountDelta& s = deltas.emplace(seller, AccountDelta{seller, 0, 0}).first->second;
    switch (effect) {
      case CreditEffect::kReserve:
        s.reserved += line.amount;
        break;
      case CreditEffect::kRelease:
        s.reserved -= line.amount;
        break;
      case CreditEffect::kRecord: {
        s.posted -= line.amount;
        s.reserved -= line.amount;
        const AccountKey buyer{head.to_organization_id, line.key};
        deltas.emplace(buyer, AccountDelta{buyer, 0, 0}).first->second.posted += line.amount;
        break;
      }
      case CreditEffect::kNone:
        break;
    }
  }
  return deltas;
}

}  // namespace

const std::vector<Statement>& TransferStore::Statements() {
  static const std::vector<Statement> statements{
      kTransfersWhole, kListTransferIds, kSuppliers,   kInsertTransfer, kInsertLines, kDeleteLines,
      kInsertEvent,    kLockTransfer,    kLockedLines, kAppendHistory,  kSetPartner};
  return statements;
}

absl::StatusOr<std::optional<TransferRecord>> TransferStore::Get(int64_t transfer_id,
                                                                 const Budget& budget) {
  return pool_.Run<std::optional<TransferRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<TransferRecord>> {
        pqxx::nontransaction tx(c);  // one statement: one snapshot
        std::vector<TransferRecord> found = LoadTransfers(tx, {std::to_string(transfer_id)});
        if (found.empty()) return std::nullopt;
        return std::move(found.front());
      });
}

absl::Status TransferStore::List(const TransferFilter& filter,
                                 const std::function<bool(const TransferRecord&)>& visible,
                                 const Budget& budget, const RowSink<TransferRecord>& sink) {
  const std::string statuses = ArrayLiteral(filter.statuses);
  return ListInPages<TransferRecord>(
      pool_, budget, filter.after_id, filter.limit,
      [&](pqxx::transaction_base& tx, int64_t after_id) {
        std::vector<std::string> ids;
        for (const pqxx::row& row :
             tx.exec_prepared(kListTransferIds.name, after_id, filter.organization_id.value_or(0),
                              statuses, kListPageSize)) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      },
      [&](pqxx::transaction_base& tx, const std::vector<std::string>& ids) {
        return LoadTransfers(tx, ids);
      },
      visible, sink);
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> TransferStore::Suppliers(
    int64_t except, const Budget& budget) {
  using Rows = std::vector<std::pair<int64_t, std::string>>;
  return pool_.Run<Rows>(budget, [&](pqxx::connection& c) -> absl::StatusOr<Rows> {
    pqxx::nontransaction tx(c);
    Rows out;
    for (const pqxx::row& row : tx.exec_prepared(kSuppliers.name, except)) {
      out.emplace_back(row[0].as<int64_t>(), row[1].as<std::string>());
    }
    return out;
  });
}

absl::StatusOr<TransferOutcome> TransferStore::Create(
    const KeyedChange<TransferRecord>& keyed, const Actor& actor, int64_t to_organization_id,
    const std::vector<domain::TransferLine>& lines, const std::string& comment,
    const Budget& budget) {
  using Kind = TransferOutcome::Kind;
  return RunWithRetries<TransferOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<TransferOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &TransferOutcome::transfer_id))
          return *earlier;
        const int64_t id =
            tx.exec_prepared1(kInsertTransfer.name, actor.organization_id, to_organization_id)[0]
                .as<int64_t>();
        InsertLines(tx, id, lines);
        tx.exec_prepared(kInsertEvent.name, id, 1, "", "", "DRAFT", actor.username,
                         actor.organization_id, actor.roles, comment);
        WriteEvent(tx, domain::TransferCreated(id), actor.username, id, 0,
                   {actor.organization_id, to_organization_id});
        std::string response = RecordTransfer(tx, keyed, id);
        tx.commit();
        return TransferOutcome{Kind::kDone, id, {}, std::move(response)};
      });
}

absl::StatusOr<TransferOutcome> TransferStore::Update(
    const KeyedChange<TransferRecord>& keyed, int64_t transfer_id, int64_t to_organization_id,
    const std::vector<domain::TransferLine>& lines, const UpdateRule& rule, const Budget& budget) {
  using Kind = TransferOutcome::Kind;
  return RunWithRetries<TransferOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<TransferOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &TransferOutcome::transfer_id))
          return *earlier;
        bool found = false;
        const TransferHead head = LockTransfer(tx, transfer_id, &found);
        if (!found) return TransferOutcome{Kind::kNotFound, transfer_id, {}};
        if (absl::Status allowed = rule(head); !allowed.ok()) return allowed;
        tx.exec_prepared(kDeleteLines.name, transfer_id);
        InsertLines(tx, transfer_id, lines);
        tx.exec_prepared(kSetPartner.name, transfer_id, to_organization_id);
        WriteEvent(tx, domain::TransferUpdated(transfer_id), keyed.claim.username, transfer_id, 0,
                   {head.from_organization_id, to_organization_id});
        std::string response = RecordTransfer(tx, keyed, transfer_id);
        tx.commit();
        return TransferOutcome{Kind::kDone, transfer_id, {}, std::move(response)};
      });
}

absl::StatusOr<TransferOutcome> TransferStore::Transition(const KeyedChange<TransferRecord>& keyed,
                                                          const Actor& actor, int64_t transfer_id,
                                                          domain::TransferAction action,
                                                          const std::string& comment,
                                                          const TransitionRule& rule,
                                                          const Budget& budget) {
  using Kind = TransferOutcome::Kind;
  using domain::CreditEffect;
  return RunWithRetries<TransferOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<TransferOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &TransferOutcome::transfer_id))
          return *earlier;
        // The transfer's lock orders every step of this transfer.
        bool found = false;
        const TransferHead head = LockTransfer(tx, transfer_id, &found);
        if (!found) return TransferOutcome{Kind::kNotFound, transfer_id, {}};
        auto transition = rule(head);
        if (!transition.ok()) return transition.status();

        // Everything but the accounts first: the seller's account row is the hot one (every
        // submit and rescind of its transfers changes it), so it is locked last and held only
        // for the lock, the change and the commit (docs/performance.md).
        std::vector<Line> lines;
        std::map<AccountKey, AccountDelta> deltas;  // sorted: the global lock order
        if (transition->effect != CreditEffect::kNone) {
          for (const pqxx::row& row : tx.exec_prepared(kLockedLines.name, transfer_id)) {
            lines.push_back(Line{domain::CreditKey{row[0].as<int32_t>(),
                                                   domain::ClassNamed(row[1].as<std::string>())},
                                 row[2].as<int64_t>()});
          }
          deltas = AccountDeltas(transition->effect, head, lines);
        }
        const bool record = transition->effect == CreditEffect::kRecord;
        int64_t journal_id = 0;
        if (record) {
          std::vector<EntryLine> entries;
          entries.reserve(deltas.size());
          for (const auto& [key, delta] : deltas) entries.push_back(EntryLine{key, delta.posted});
          journal_id = InsertJournal(tx, "TRANSFER", absl::StrCat("transfer/", transfer_id),
                                     actor.username, "", 0, 0, entries);
        }
        tx.exec_prepared(kAppendHistory.name, transfer_id, domain::StatusName(transition->to),
                         journal_id, domain::ActionName(action), domain::StatusName(head.status),
                         actor.username, actor.organization_id, actor.roles, comment);
        WriteEvent(tx,
                   domain::TransferTransitioned(transfer_id, action, head.status,
                                                head.from_organization_id, head.to_organization_id,
                                                actor.organization_id),
                   actor.username, transfer_id, journal_id,
                   {head.from_organization_id, head.to_organization_id});
        std::string response = RecordTransfer(tx, keyed, transfer_id);

        if (!deltas.empty()) {
          std::vector<AccountKey> keys;
          keys.reserve(deltas.size());
          for (const auto& [key, delta] : deltas) keys.push_back(key);
          const std::vector<AccountRow> rows = LockAccounts(tx, keys, /*create=*/record);
          if (transition->effect == CreditEffect::kReserve) {
            for (const Line& line : lines) {
              const AccountKey seller{head.from_organization_id, line.key};
              const auto row = std::find_if(rows.begin(), rows.end(), [&](const AccountRow& r) {
                return r.account == seller;
              });
              // Returning without commit rolls back everything written above.
              if (row == rows.end() || row->posted - row->reserved < line.amount) {
                return TransferOutcome{Kind::kInsufficientCredits, 0, line.key, std::nullopt};
              }
            }
          }
          std::vector<AccountDelta> changes;
          changes.reserve(deltas.size());
          for (const auto& [key, delta] : deltas) changes.push_back(delta);
          ApplyToAccounts(tx, changes);
        }
        tx.commit();
        return TransferOutcome{Kind::kDone, transfer_id, {}, std::move(response)};
      });
}

}  // namespace zeva::db
