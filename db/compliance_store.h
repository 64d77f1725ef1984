#pragma once
// Annual compliance (tables compliance_ratios, model_year_reports and their previous sales,
// history and stored assessments, compliance_recorded_sales, compliance_deficits) and the
// REDUCTION journal that ASSESS posts. No gRPC types.
//
// Every change runs in one READ COMMITTED transaction, as applications do
// (db/application_store.h): claim the idempotency key, lock the report row (FOR UPDATE), let
// the caller's rules decide on what is locked, make the change, write its history, its event
// and the key's result, and commit. Creation locks the supplier's organization row instead
// (FOR NO KEY UPDATE), so two creations of one supplier cannot both pass "one open report".
// ASSESS then locks every account the supplier has, in the ledger's global order, computes
// the outcome from the locked balances (domain/compliance_rule), and posts through
// db/ledger_writes: one REDUCTION journal, the accounts changed, the deficits replaced, the
// year's sales recorded and the outcome stored, all in that transaction.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/application_store.h"
#include "db/idempotency.h"
#include "db/pool.h"
#include "db/statement.h"
#include "db/transfer_store.h"
#include "domain/compliance_rule.h"
#include "domain/compliance_workflow.h"

namespace zeva::db {

// One history row; the same shape as an application's.
using ReportEventRecord = ApplicationEventRecord;

// ZEV sales of the report's model year from the supplier's credit applications, per vehicle.
struct ZevSalesRow {
  int64_t vehicle_id = 0;
  std::string make;
  std::string model;
  std::string type;
  uint32_t range_km = 0;
  int64_t validated = 0;
  int64_t pending = 0;
};

// What the outcome is computed from: the supplier's balances and deficits now, and whether
// its assessed report of the previous model year ended in deficit.
struct ComplianceState {
  std::map<domain::CreditKey, int64_t> available;  // posted - reserved, keys > 0 only
  std::vector<domain::Deficit> deficits;           // by model year, then part
  bool previous_in_deficit = false;
};

struct StoredAssessment {
  domain::Obligation obligation;
  domain::AssessmentOutcome outcome;
};

struct ReportRecord {
  int64_t id = 0;
  int64_t organization_id = 0;
  std::string organization_name;
  int model_year = 0;
  domain::ReportStatus status = domain::ReportStatus::kUnspecified;
  int version = 0;
  int64_t ldv_sales = 0;
  std::map<int, int64_t> entered_sales;   // the previous years' figures the supplier entered
  std::map<int, int64_t> recorded_sales;  // the three preceding years' recorded figures
  std::vector<std::string> makes;
  domain::CreditClass any_class_first = domain::CreditClass::kC;  // kC: unspecified
  bool attested = false;
  int64_t journal_id = 0;
  int64_t created_micros = 0;
  int64_t updated_micros = 0;
  domain::ComplianceRatio ratio;
  std::vector<ZevSalesRow> zev_sales;          // by vehicle id
  std::vector<ReportEventRecord> history;      // empty in listings
  std::optional<StoredAssessment> assessment;  // once ASSESSED
  ComplianceState state;                       // as of the read (for the preview)
};

// What a rule sees of a report under its lock.
struct ReportHead {
  int64_t id = 0;
  int64_t organization_id = 0;
  int model_year = 0;
  domain::ReportStatus status = domain::ReportStatus::kUnspecified;
  int version = 0;
};

struct ReportOutcome {
  enum class Kind {
    kDone,       // report_id changed (or created)
    kReplayed,   // the key's earlier result: report_id
    kKeyReused,  // the key was used for a different request
    kNotFound,   // no such report
  };
  Kind kind = Kind::kDone;
  int64_t report_id = 0;
  // The response stored with the key (kDone, kReplayed); nullopt when replaying a key stored
  // before migration 0019.
  std::optional<std::string> response{};
};

// The supplier's fields of a DRAFT, checked (domain::CheckReportInputs).
struct ReportInputs {
  int64_t ldv_sales = 0;
  std::vector<domain::PreviousSalesInput> previous_sales;
  std::vector<std::string> makes;
  std::string any_class_first;  // "A", "B" or "" (unspecified)
  bool attested = false;
};

// The rules of an update, run on the locked report: `access` (NOT_FOUND, PERMISSION_DENIED),
// the checks on stored data (previous years), then `state` (VERSION_MISMATCH, INVALID_STATUS).
struct ReportRules {
  std::function<absl::Status(const ReportHead&)> access;
  std::function<absl::Status(const ReportHead&)> state;
};
using ReportTransitionRule =
    std::function<absl::StatusOr<domain::ReportTransition>(const ReportHead& report)>;

struct ReportFilter {
  std::optional<int64_t> organization_id;  // nullopt: all
  std::vector<std::string> statuses;       // status names; empty: all
  int model_year = 0;                      // 0: all
  int64_t after_id = 0;
  int64_t limit = 0;  // 0: no limit
};

class ComplianceStore {
 public:
  explicit ComplianceStore(ConnectionPool& pool) : pool_(pool) {}

  absl::StatusOr<std::vector<domain::ComplianceRatio>> Ratios(const Budget& budget);
  // The report whole (history, state for the preview), or nullopt.
  absl::StatusOr<std::optional<ReportRecord>> Get(int64_t report_id, const Budget& budget);
  // Reports matching `filter` by id, without history; `visible` drops those the caller may
  // not see.
  absl::Status List(const ReportFilter& filter,
                    const std::function<bool(const ReportRecord&)>& visible, const Budget& budget,
                    const RowSink<ReportRecord>& sink);
  // The organization's outstanding deficits, by model year then part.
  absl::StatusOr<std::vector<domain::Deficit>> Deficits(int64_t organization_id,
                                                        const Budget& budget);

  // A DRAFT of the actor's organization: PREVIOUS_REPORT_OPEN, then REPORT_EXISTS.
  // Each change stores `keyed.respond` of the changed report, as read in its transaction, with
  // the key: kDone and kReplayed carry that response.
  absl::StatusOr<ReportOutcome> Create(const KeyedChange<ReportRecord>& keyed, const Actor& actor,
                                       int model_year, const Budget& budget);
  // Replaces every supplier field (previous years checked against the recorded ones).
  absl::StatusOr<ReportOutcome> Update(const KeyedChange<ReportRecord>& keyed, const Actor& actor,
                                       int64_t report_id, const ReportInputs& inputs,
                                       const ReportRules& rules, const Budget& budget);
  // A workflow step and its effect (SUBMIT's and RECOMMEND's checks, RETURN_TO_SUPPLIER
  // clears `attested`, ASSESS deducts and posts).
  absl::StatusOr<ReportOutcome> Transition(const KeyedChange<ReportRecord>& keyed,
                                           const Actor& actor, int64_t report_id,
                                           domain::ReportAction action, const std::string& comment,
                                           const ReportTransitionRule& rule, const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
