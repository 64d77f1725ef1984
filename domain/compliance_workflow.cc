#include "domain/compliance_workflow.h"

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "domain/workflow_table.h"

namespace zeva::domain {
namespace {

using S = ReportStatus;
using A = ReportAction;
using P = ReportParty;
using R = Role;
using E = ReportEffect;

constexpr int kLastStatus = 5;
constexpr int kLastAction = 6;

std::vector<ReportTransition> BuildTable() {
  std::vector<ReportTransition> t;
  for (R role : {R::kZevaUser, R::kSigningAuthority}) {
    t.push_back({S::kDraft, A::kDelete, P::kSupplier, role, S::kDeleted, E::kNone});
  }
  t.push_back(
      {S::kDraft, A::kSubmit, P::kSupplier, R::kSigningAuthority, S::kSubmitted, E::kSubmit});
  t.push_back({S::kSubmitted, A::kRecommend, P::kGovernment, R::kEngineerAnalyst, S::kRecommended,
               E::kRecommend});
  t.push_back({S::kSubmitted, A::kReturnToSupplier, P::kGovernment, R::kEngineerAnalyst, S::kDraft,
               E::kClearAttested});
  t.push_back({S::kRecommended, A::kReturnToAnalyst, P::kGovernment, R::kDirector, S::kSubmitted,
               E::kNone});
  t.push_back(
      {S::kRecommended, A::kAssess, P::kGovernment, R::kDirector, S::kAssessed, E::kAssess});
  return t;
}

bool IsSupplierEditor(bool government, const std::vector<std::string>& roles) {
  return HasRole(government, roles, R::kZevaUser) ||
         HasRole(government, roles, R::kSigningAuthority);
}

const char* PastTense(ReportAction action) {
  switch (action) {
    case A::kSubmit:
      return "submitted";
    case A::kRecommend:
      return "recommended";
    case A::kReturnToSupplier:
      return "returned_to_supplier";
    case A::kReturnToAnalyst:
      return "returned_to_analyst";
    case A::kAssess:
      return "assessed";
    case A::kDelete:
      return "deleted";
    case A::kUnspecified:
      break;
  }
  return "changed";
}

const char* Sentence(ReportAction action) {
  switch (action) {
    case A::kReturnToAnalyst:
      return "returned to the analyst";
    case A::kReturnToSupplier:
      return "returned to the supplier";
    default:
      return PastTense(action);
  }
}

}  // namespace

const std::vector<ReportTransition>& ReportWorkflowTable() {
  static const std::vector<ReportTransition> table = BuildTable();
  return table;
}

bool MaySeeReport(ReportParty party, ReportStatus status) {
  switch (party) {
    case P::kSupplier:
      return true;
    case P::kGovernment:
      return status != S::kDraft && status != S::kDeleted;
    case P::kOther:
      return false;
  }
  return false;
}

absl::StatusOr<ReportTransition> DecideReport(ReportStatus status, ReportAction action,
                                              ReportParty party, bool government,
                                              const std::vector<std::string>& roles) {
  return DecideIn(ReportWorkflowTable(), status, action, party, government, roles,
                  WorkflowNoun{"model year report", "a model year report"},
                  ReportStatusName(status), ReportActionName(action));
}

std::vector<ReportAction> AllowedReportActions(ReportStatus status, ReportParty party,
                                               bool government,
                                               const std::vector<std::string>& roles) {
  return AllowedIn<ReportTransition, ReportStatus, ReportAction>(ReportWorkflowTable(), status,
                                                                 party, government, roles);
}

absl::Status MayCreateReport(bool government, const std::vector<std::string>& roles) {
  if (IsSupplierEditor(government, roles)) return absl::OkStatus();
  return Refusal(absl::StatusCode::kPermissionDenied,
                 "only a supplier's ZEVA_USER or SIGNING_AUTHORITY may create a model year report",
                 "PERMISSION_DENIED");
}

absl::Status MayEditReport(ReportStatus status, ReportParty party, bool government,
                           const std::vector<std::string>& roles, bool attested,
                           bool check_status) {
  if (party != P::kSupplier || !IsSupplierEditor(government, roles)) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   "only the supplier's ZEVA_USER or SIGNING_AUTHORITY may change its report",
                   "PERMISSION_DENIED");
  }
  if (attested && !HasRole(government, roles, R::kSigningAuthority)) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   "only a SIGNING_AUTHORITY may attest a model year report", "PERMISSION_DENIED",
                   "attested");
  }
  if (check_status && status != S::kDraft) {
    return Refusal(absl::StatusCode::kFailedPrecondition,
                   absl::StrCat("a model year report in status ", ReportStatusName(status),
                                " cannot be changed"),
                   kReasonInvalidStatus);
  }
  return absl::OkStatus();
}

const char* ReportStatusName(ReportStatus status) {
  static const char* const kNames[] = {"UNSPECIFIED", "DRAFT",    "SUBMITTED",
                                       "RECOMMENDED", "ASSESSED", "DELETED"};
  const int i = static_cast<int>(status);
  return i >= 0 && i <= kLastStatus ? kNames[i] : "UNSPECIFIED";
}

const char* ReportActionName(ReportAction action) {
  static const char* const kNames[] = {
      "UNSPECIFIED",       "SUBMIT", "RECOMMEND", "RETURN_TO_SUPPLIER",
      "RETURN_TO_ANALYST", "ASSESS", "DELETE"};
  const int i = static_cast<int>(action);
  return i >= 0 && i <= kLastAction ? kNames[i] : "UNSPECIFIED";
}

ReportStatus ReportStatusNamed(const std::string& name) {
  for (int i = 1; i <= kLastStatus; ++i) {
    const auto status = static_cast<ReportStatus>(i);
    if (name == ReportStatusName(status)) return status;
  }
  return S::kUnspecified;
}

ReportAction ReportActionNamed(const std::string& name) {
  for (int i = 1; i <= kLastAction; ++i) {
    const auto action = static_cast<ReportAction>(i);
    if (name == ReportActionName(action)) return action;
  }
  return A::kUnspecified;
}

Event ReportCreated(int64_t report_id) {
  return Event{"credits.model_year_report.created",
               absl::StrCat("Model year report ", report_id, " was created."),
               {}};
}

Event ReportUpdated(int64_t report_id) {
  return Event{"credits.model_year_report.updated",
               absl::StrCat("Model year report ", report_id, " was updated."),
               {}};
}

Event ReportTransitioned(int64_t report_id, ReportAction action, int64_t supplier_organization_id) {
  Event event{absl::StrCat("credits.model_year_report.", PastTense(action)),
              absl::StrCat("Model year report ", report_id, " was ", Sentence(action), "."),
              {}};
  Recipients& r = event.recipients;
  switch (action) {
    case A::kSubmit:
    case A::kReturnToAnalyst:
      r.government_roles = {R::kEngineerAnalyst};
      break;
    case A::kRecommend:
      r.government_roles = {R::kDirector};
      break;
    case A::kReturnToSupplier:
    case A::kAssess:
      r.organizations = {supplier_organization_id};
      break;
    case A::kDelete:
    case A::kUnspecified:
      break;
  }
  return event;
}

}  // namespace zeva::domain
