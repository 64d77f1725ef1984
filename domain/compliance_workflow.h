#pragma once
// The model year report workflow as one table (docs/compliance.md, "The workflow"): for every
// status, the actions each side and role may take and the status that follows, plus who may
// create and edit a report, who sees one, and the event each step emits. The server consults
// it for every change and for `allowed_actions`, so the rules exist here and nowhere else.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/application_workflow.h"
#include "domain/credit_ledger.h"
#include "domain/notification_rules.h"

namespace zeva::domain {

// New reasons of COMPLIANCE.md.
inline constexpr char kReasonNotAttested[] = "NOT_ATTESTED";
inline constexpr char kReasonMissingPreviousSales[] = "MISSING_PREVIOUS_SALES";
inline constexpr char kReasonPendingApplications[] = "PENDING_APPLICATIONS";
inline constexpr char kReasonReportExists[] = "REPORT_EXISTS";
inline constexpr char kReasonPreviousReportOpen[] = "PREVIOUS_REPORT_OPEN";
inline constexpr char kReasonNotReversible[] = "NOT_REVERSIBLE";

// Numbered as the wire enums (zeva.credits.v1.ModelYearReportStatus / ModelYearReportAction).
enum class ReportStatus {
  kUnspecified = 0,
  kDraft = 1,
  kSubmitted = 2,
  kRecommended = 3,
  kAssessed = 4,
  kDeleted = 5,
};
enum class ReportAction {
  kUnspecified = 0,
  kSubmit = 1,
  kRecommend = 2,
  kReturnToSupplier = 3,
  kReturnToAnalyst = 4,
  kAssess = 5,
  kDelete = 6,
};

// The caller's relation to a report: as to a credit application (the owning supplier,
// government, or another supplier).
using ReportParty = ApplicantParty;

// What a step does beyond changing the status.
enum class ReportEffect {
  kNone,
  kSubmit,         // needs every previous year's sales, then `attested`
  kRecommend,      // refused while an application with a record of the year is pending
  kClearAttested,  // RETURN_TO_SUPPLIER
  kAssess,         // deductions, deficits, recorded sales, the stored outcome
};

struct ReportTransition {
  ReportStatus from;
  ReportAction action;
  ReportParty party;
  Role role;
  ReportStatus to;
  ReportEffect effect;
};

// Every row of the workflow table (one per alternative role).
const std::vector<ReportTransition>& ReportWorkflowTable();

// The supplier always; government never in DRAFT or DELETED; others never.
bool MaySeeReport(ReportParty party, ReportStatus status);

// The row for `action` from `status`: PERMISSION_DENIED when no row (in any status) names the
// action for the caller's party and roles; FAILED_PRECONDITION (INVALID_STATUS) when rows do
// but none from `status`.
absl::StatusOr<ReportTransition> DecideReport(ReportStatus status, ReportAction action,
                                              ReportParty party, bool government,
                                              const std::vector<std::string>& roles);

// What the caller may do now, in enum order.
std::vector<ReportAction> AllowedReportActions(ReportStatus status, ReportParty party,
                                               bool government,
                                               const std::vector<std::string>& roles);

// CreateModelYearReport: a supplier's ZEVA_USER or SIGNING_AUTHORITY (PERMISSION_DENIED else).
absl::Status MayCreateReport(bool government, const std::vector<std::string>& roles);
// UpdateModelYearReport: the owning supplier's ZEVA_USER or SIGNING_AUTHORITY (PERMISSION_DENIED;
// `attested` true needs a SIGNING_AUTHORITY), in DRAFT (`check_status`; INVALID_STATUS).
absl::Status MayEditReport(ReportStatus status, ReportParty party, bool government,
                           const std::vector<std::string>& roles, bool attested, bool check_status);

// "SUBMITTED", "RETURN_TO_SUPPLIER": as the database's enums spell them.
const char* ReportStatusName(ReportStatus status);
const char* ReportActionName(ReportAction action);
ReportStatus ReportStatusNamed(const std::string& name);  // kUnspecified if unknown
ReportAction ReportActionNamed(const std::string& name);  // kUnspecified if unknown

// The events of reports and who is notified (docs/compliance.md, "Events and recipients");
// the acting user is never notified (the outbox writer filters).
Event ReportCreated(int64_t report_id);
Event ReportUpdated(int64_t report_id);
Event ReportTransitioned(int64_t report_id, ReportAction action, int64_t supplier_organization_id);

}  // namespace zeva::domain
