#pragma once
// Credit applications (tables credit_applications, credit_application_lines,
// credit_application_records, credit_application_history, awarded_vins) and the ISSUANCE
// journal that VALIDATE posts. No gRPC types.
//
// Every change runs in one READ COMMITTED transaction, as transfers do (db/transfer_store.h):
// claim the idempotency key, lock the application row (FOR UPDATE), let the caller's rules
// decide on what is locked, make the change, write its history, its event and the key's
// result, and commit. The application's row lock serialises every step of one application
// (twenty concurrent VALIDATEs: the first posts, the others find it VALIDATED). VALIDATE
// inserts the included VINs into awarded_vins (the VIN its primary key) in VIN order before it
// posts: a VIN awarded by another application, committed or committing, is found there and
// refuses this VALIDATE with nothing changed.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/idempotency.h"
#include "db/pool.h"
#include "db/statement.h"
#include "db/transfer_store.h"
#include "domain/application_workflow.h"
#include "domain/sales_records.h"

namespace zeva::db {

struct ApplicationEventRecord {
  int seq = 0;
  std::string action;       // "" for the creation
  std::string from_status;  // "" for the creation
  std::string to_status;
  std::string actor;
  int64_t actor_organization_id = 0;
  std::string comment;
  int64_t at_micros = 0;
};

// One (vehicle, model year) with records. `fixed`: class and value as fixed at SUBMIT; else
// the caller computes them from the vehicle's type and range under the current rule.
struct ApplicationLineRecord {
  int64_t vehicle_id = 0;
  std::string make;
  std::string model;
  std::string type;
  uint32_t range_km = 0;
  int32_t model_year = 0;
  bool fixed = false;
  std::string fixed_class;  // "A", "B", or "" (class C: earns nothing)
  int64_t fixed_value = 0;  // hundredths
  int64_t records = 0;
  int64_t included = 0;
};

struct ApplicationRecord {
  int64_t id = 0;
  int64_t organization_id = 0;
  std::string organization_name;
  domain::ApplicationStatus status = domain::ApplicationStatus::kUnspecified;
  int version = 0;
  int64_t record_count = 0;
  int64_t journal_id = 0;
  int64_t checked_against_import_id = 0;
  std::optional<domain::Date> icbc_current_to;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  std::vector<ApplicationLineRecord> lines;     // by vehicle, then model year
  std::map<int, int64_t> warnings;              // warning number -> records
  std::vector<ApplicationEventRecord> history;  // empty in listings
};

struct SalesRecordRow {
  int64_t id = 0;
  std::string vin;
  int64_t vehicle_id = 0;
  int32_t model_year = 0;
  domain::Date sale_date;
  std::vector<int> warnings;
  bool included = false;
  std::string decision_reason;
  std::string icbc_make;
  std::string icbc_model;
  int32_t icbc_model_year = 0;
};

// What a rule sees of an application under its lock.
struct ApplicationHead {
  int64_t id = 0;
  int64_t organization_id = 0;
  domain::ApplicationStatus status = domain::ApplicationStatus::kUnspecified;
  int version = 0;
  int64_t record_count = 0;
};

struct ApplicationOutcome {
  enum class Kind {
    kDone,       // application_id changed (or created)
    kReplayed,   // the key's earlier result: application_id
    kKeyReused,  // the key was used for a different request
    kNotFound,   // no such application
  };
  Kind kind = Kind::kDone;
  int64_t application_id = 0;
  // The response stored with the key (kDone, kReplayed); nullopt when replaying a key stored
  // before migration 0019.
  std::optional<std::string> response{};
};

// The rules of a change, run on the locked application: `access` first (NOT_FOUND,
// PERMISSION_DENIED), then the checks that need stored data (INVALID_ARGUMENT), then `state`
// (ABORTED VERSION_MISMATCH, FAILED_PRECONDITION), as the contract orders errors.
struct ApplicationRules {
  std::function<absl::Status(const ApplicationHead&)> access;
  std::function<absl::Status(const ApplicationHead&)> state;
};
using ApplicationTransitionRule = std::function<absl::StatusOr<domain::ApplicationTransition>(
    const ApplicationHead& application)>;

enum class RecordFilterKind { kAll, kWithWarnings, kIncluded, kExcluded };

struct ApplicationFilter {
  std::optional<int64_t> organization_id;  // nullopt: all
  std::vector<std::string> statuses;       // status names; empty: all
  int64_t after_id = 0;
  int64_t limit = 0;  // 0: no limit
};

class ApplicationStore {
 public:
  explicit ApplicationStore(ConnectionPool& pool) : pool_(pool) {}

  // The application whole (lines, warnings, history), or nullopt.
  absl::StatusOr<std::optional<ApplicationRecord>> Get(int64_t application_id,
                                                       const Budget& budget);
  // Applications matching `filter` by id, without history; `visible` drops those the caller
  // may not see.
  absl::Status List(const ApplicationFilter& filter,
                    const std::function<bool(const ApplicationRecord&)>& visible,
                    const Budget& budget, const RowSink<ApplicationRecord>& sink);
  // The application's records with id > after_id, by id.
  absl::Status Records(int64_t application_id, RecordFilterKind filter, int64_t after_id,
                       int64_t limit, const Budget& budget, const RowSink<SalesRecordRow>& sink);

  // Each change stores `keyed.respond` of the changed application, as read in its transaction,
  // with the key: kDone and kReplayed carry that response.
  absl::StatusOr<ApplicationOutcome> Create(const KeyedChange<ApplicationRecord>& keyed,
                                            const Actor& actor, const std::string& comment,
                                            const Budget& budget);
  // Adds a checked batch: its vehicles must be the application's supplier's and earn credits
  // (domain::CheckRecordVehicles), no VIN may be in the application yet (DUPLICATE_VIN), and
  // the application may hold at most 100,000 records (TOO_MANY_RECORDS).
  absl::StatusOr<ApplicationOutcome> AddRecords(const KeyedChange<ApplicationRecord>& keyed,
                                                int64_t application_id,
                                                const std::vector<domain::NewRecord>& records,
                                                const ApplicationRules& rules,
                                                const Budget& budget);
  // Removes records of the application (any other id: NOT_FOUND naming `record_ids[i]`).
  absl::StatusOr<ApplicationOutcome> RemoveRecords(const KeyedChange<ApplicationRecord>& keyed,
                                                   int64_t application_id,
                                                   const std::vector<int64_t>& record_ids,
                                                   const ApplicationRules& rules,
                                                   const Budget& budget);
  // Applies the decisions (domain::CheckDecisionRules on the stored records, awarded VINs as
  // they are now); records of other applications: NOT_FOUND.
  absl::StatusOr<ApplicationOutcome> Decide(const KeyedChange<ApplicationRecord>& keyed,
                                            int64_t application_id,
                                            const std::vector<domain::Decision>& decisions,
                                            const ApplicationRules& rules, const Budget& budget);
  // A workflow step and its effect (SUBMIT fixes the lines, CHECK computes the warnings,
  // RETURN_TO_SUPPLIER clears them, VALIDATE posts and awards).
  absl::StatusOr<ApplicationOutcome> Transition(const KeyedChange<ApplicationRecord>& keyed,
                                                const Actor& actor, int64_t application_id,
                                                domain::ApplicationAction action,
                                                const std::string& comment,
                                                const ApplicationTransitionRule& rule,
                                                const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
