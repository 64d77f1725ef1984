#pragma once
// Credit transfers (tables credit_transfers, credit_transfer_lines, credit_transfer_history)
// and the credits they reserve, release and record. No gRPC types.
//
// Every change runs in one READ COMMITTED transaction: claim the idempotency key, lock the
// transfer row (FOR UPDATE), let the caller's rule decide on what is locked, then lock the
// accounts the effect touches in the global order (db/ledger_writes.h), check and change them,
// write the transfer, its history and the key's result and response, and commit. The transfer's row
// lock serialises every step of one transfer (two RECORDs, or RESCIND against RECORD: the second
// sees the first's status), and the account locks serialise every reservation and posting of
// one seller, so available can never be spent twice.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/idempotency.h"
#include "db/pool.h"
#include "db/statement.h"
#include "db/vehicle_store.h"
#include "domain/transfer_workflow.h"

namespace zeva::db {

struct TransferEventRecord {
  int seq = 0;
  std::string action;       // "" for the creation
  std::string from_status;  // "" for the creation
  std::string to_status;
  std::string actor;
  int64_t actor_organization_id = 0;
  std::string comment;
  int64_t at_micros = 0;
};

struct TransferRecord {
  int64_t id = 0;
  int64_t from_organization_id = 0;
  int64_t to_organization_id = 0;
  std::string from_organization_name;
  std::string to_organization_name;
  domain::TransferStatus status = domain::TransferStatus::kUnspecified;
  int version = 0;
  int64_t journal_id = 0;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  std::vector<domain::TransferLine> lines;
  std::vector<TransferEventRecord> history;
};

// What a rule sees of a transfer under its lock.
struct TransferHead {
  int64_t id = 0;
  int64_t from_organization_id = 0;
  int64_t to_organization_id = 0;
  domain::TransferStatus status = domain::TransferStatus::kUnspecified;
  int version = 0;
};

// The actor of a change, as the history records it.
struct Actor {
  std::string username;
  int64_t organization_id = 0;
  std::string roles;  // comma-separated, as held
};

struct TransferOutcome {
  enum class Kind {
    kDone,                // transfer_id changed (or created)
    kReplayed,            // the key's earlier result: transfer_id
    kKeyReused,           // the key was used for a different request
    kNotFound,            // no such transfer
    kInsufficientCredits  // the seller's available is short of a line: short_key
  };
  Kind kind = Kind::kDone;
  int64_t transfer_id = 0;
  domain::CreditKey short_key;
  // The response stored with the key (kDone, kReplayed); nullopt when replaying a key stored
  // before migration 0019.
  std::optional<std::string> response{};
};

// Decides on the locked transfer: the transition to make, or a refusal (which rolls back).
using TransitionRule =
    std::function<absl::StatusOr<domain::Transition>(const TransferHead& transfer)>;
// Decides whether a DRAFT may be replaced: OK or a refusal.
using UpdateRule = std::function<absl::Status(const TransferHead& transfer)>;

struct TransferFilter {
  std::optional<int64_t> organization_id;  // from or to it; nullopt: all
  std::vector<std::string> statuses;       // status names; empty: all
  int64_t after_id = 0;
  int64_t limit = 0;  // 0: no limit
};

class TransferStore {
 public:
  explicit TransferStore(ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<std::optional<TransferRecord>> Get(int64_t transfer_id, const Budget& budget);
  // Transfers matching `filter` by id, whole, in pages; `visible` drops those the caller may
  // not see (checked per row, so a supplier's filter need not express visibility in SQL).
  absl::Status List(const TransferFilter& filter,
                    const std::function<bool(const TransferRecord&)>& visible, const Budget& budget,
                    const RowSink<TransferRecord>& sink);
  // Vehicle suppliers other than `except`, by name.
  absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> Suppliers(int64_t except,
                                                                         const Budget& budget);

  // Each change stores `keyed.respond` of the changed transfer, as read in its transaction, with
  // the key: kDone and kReplayed carry that response.
  absl::StatusOr<TransferOutcome> Create(const KeyedChange<TransferRecord>& keyed,
                                         const Actor& actor, int64_t to_organization_id,
                                         const std::vector<domain::TransferLine>& lines,
                                         const std::string& comment, const Budget& budget);
  absl::StatusOr<TransferOutcome> Update(const KeyedChange<TransferRecord>& keyed,
                                         int64_t transfer_id, int64_t to_organization_id,
                                         const std::vector<domain::TransferLine>& lines,
                                         const UpdateRule& rule, const Budget& budget);
  absl::StatusOr<TransferOutcome> Transition(const KeyedChange<TransferRecord>& keyed,
                                             const Actor& actor, int64_t transfer_id,
                                             domain::TransferAction action,
                                             const std::string& comment, const TransitionRule& rule,
                                             const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
