#include "domain/application_workflow.h"

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "domain/workflow_table.h"

namespace zeva::domain {
namespace {

using S = ApplicationStatus;
using A = ApplicationAction;
using P = ApplicantParty;
using R = Role;
using E = ApplicationEffect;

constexpr int kLastStatus = 8;
constexpr int kLastAction = 9;

std::vector<ApplicationTransition> BuildTable() {
  std::vector<ApplicationTransition> t;
  for (R role : {R::kZevaUser, R::kSigningAuthority}) {
    t.push_back({S::kDraft, A::kDelete, P::kSupplier, role, S::kDeleted, E::kNone});
  }
  t.push_back(
      {S::kDraft, A::kSubmit, P::kSupplier, R::kSigningAuthority, S::kSubmitted, E::kFixValues});
  for (S from : {S::kSubmitted, S::kChecked}) {
    t.push_back({from, A::kCheck, P::kGovernment, R::kEngineerAnalyst, S::kChecked, E::kCheck});
    t.push_back({from, A::kReturnToSupplier, P::kGovernment, R::kEngineerAnalyst, S::kDraft,
                 E::kClearCheck});
  }
  t.push_back({S::kChecked, A::kRecommendApproval, P::kGovernment, R::kEngineerAnalyst,
               S::kRecommendedApproval, E::kNone});
  t.push_back({S::kChecked, A::kRecommendRejection, P::kGovernment, R::kEngineerAnalyst,
               S::kRecommendedRejection, E::kNone});
  for (S from : {S::kRecommendedApproval, S::kRecommendedRejection}) {
    t.push_back({from, A::kReturnToAnalyst, P::kGovernment, R::kDirector, S::kChecked, E::kNone});
    t.push_back({from, A::kReject, P::kGovernment, R::kDirector, S::kRejected, E::kNone});
  }
  t.push_back({S::kRecommendedApproval, A::kValidate, P::kGovernment, R::kDirector, S::kValidated,
               E::kIssue});
  return t;
}

bool IsSupplierEditor(bool government, const std::vector<std::string>& roles) {
  return HasRole(government, roles, R::kZevaUser) ||
         HasRole(government, roles, R::kSigningAuthority);
}

absl::Status NotInStatus(ApplicationStatus status, const char* what) {
  return Refusal(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat("an application in status ", ApplicationStatusName(status),
                              " cannot have its ", what, " changed"),
                 kReasonInvalidStatus);
}

// The contract's past tense of an action: "returned_to_supplier" for RETURN_TO_SUPPLIER.
const char* PastTense(ApplicationAction action) {
  switch (action) {
    case A::kSubmit:
      return "submitted";
    case A::kCheck:
      return "checked";
    case A::kRecommendApproval:
      return "recommended_approval";
    case A::kRecommendRejection:
      return "recommended_rejection";
    case A::kReturnToAnalyst:
      return "returned_to_analyst";
    case A::kValidate:
      return "validated";
    case A::kReject:
      return "rejected";
    case A::kReturnToSupplier:
      return "returned_to_supplier";
    case A::kDelete:
      return "deleted";
    case A::kUnspecified:
      break;
  }
  return "changed";
}

const char* Sentence(ApplicationAction action) {
  switch (action) {
    case A::kRecommendApproval:
      return "recommended for approval";
    case A::kRecommendRejection:
      return "recommended for rejection";
    case A::kReturnToAnalyst:
      return "returned to the analyst";
    case A::kReturnToSupplier:
      return "returned to the supplier";
    default:
      return PastTense(action);
  }
}

}  // namespace

const std::vector<ApplicationTransition>& ApplicationWorkflowTable() {
  static const std::vector<ApplicationTransition> table = BuildTable();
  return table;
}

ApplicantParty ApplicantPartyOf(bool government, int64_t caller_organization_id,
                                int64_t application_organization_id) {
  if (government) return P::kGovernment;
  return caller_organization_id == application_organization_id ? P::kSupplier : P::kOther;
}

bool MaySeeApplication(ApplicantParty party, ApplicationStatus status) {
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

absl::StatusOr<ApplicationTransition> DecideApplication(ApplicationStatus status,
                                                        ApplicationAction action,
                                                        ApplicantParty party, bool government,
                                                        const std::vector<std::string>& roles) {
  return DecideIn(ApplicationWorkflowTable(), status, action, party, government, roles,
                  WorkflowNoun{"application", "an application"}, ApplicationStatusName(status),
                  ApplicationActionName(action));
}

std::vector<ApplicationAction> AllowedApplicationActions(ApplicationStatus status,
                                                         ApplicantParty party, bool government,
                                                         const std::vector<std::string>& roles) {
  return AllowedIn<ApplicationTransition, ApplicationStatus, ApplicationAction>(
      ApplicationWorkflowTable(), status, party, government, roles);
}

absl::Status MayCreateApplication(bool government, const std::vector<std::string>& roles) {
  if (IsSupplierEditor(government, roles)) return absl::OkStatus();
  return Refusal(absl::StatusCode::kPermissionDenied,
                 "only a supplier's ZEVA_USER or SIGNING_AUTHORITY may create an application",
                 "PERMISSION_DENIED");
}

absl::Status MayEditRecords(ApplicationStatus status, ApplicantParty party, bool government,
                            const std::vector<std::string>& roles) {
  if (party != P::kSupplier || !IsSupplierEditor(government, roles)) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   "only the supplier's ZEVA_USER or SIGNING_AUTHORITY may change its records",
                   "PERMISSION_DENIED");
  }
  if (status != S::kDraft) return NotInStatus(status, "records");
  return absl::OkStatus();
}

absl::Status MayDecide(ApplicationStatus status, ApplicantParty party, bool government,
                       const std::vector<std::string>& roles) {
  if (party != P::kGovernment || !HasRole(government, roles, R::kEngineerAnalyst)) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   "only a government ENGINEER_ANALYST may decide which records count",
                   "PERMISSION_DENIED");
  }
  if (status != S::kChecked) return NotInStatus(status, "decisions");
  return absl::OkStatus();
}

const char* ApplicationStatusName(ApplicationStatus status) {
  static const char* const kNames[] = {
      "UNSPECIFIED",           "DRAFT",     "SUBMITTED", "CHECKED", "RECOMMENDED_APPROVAL",
      "RECOMMENDED_REJECTION", "VALIDATED", "REJECTED",  "DELETED"};
  const int i = static_cast<int>(status);
  return i >= 0 && i <= kLastStatus ? kNames[i] : "UNSPECIFIED";
}

const char* ApplicationActionName(ApplicationAction action) {
  static const char* const kNames[] = {
      "UNSPECIFIED",       "SUBMIT",   "CHECK",  "RECOMMEND_APPROVAL", "RECOMMEND_REJECTION",
      "RETURN_TO_ANALYST", "VALIDATE", "REJECT", "RETURN_TO_SUPPLIER", "DELETE"};
  const int i = static_cast<int>(action);
  return i >= 0 && i <= kLastAction ? kNames[i] : "UNSPECIFIED";
}

ApplicationStatus ApplicationStatusNamed(const std::string& name) {
  for (int i = 1; i <= kLastStatus; ++i) {
    const auto status = static_cast<ApplicationStatus>(i);
    if (name == ApplicationStatusName(status)) return status;
  }
  return S::kUnspecified;
}

Event ApplicationCreated(int64_t application_id) {
  return Event{"credits.application.created",
               absl::StrCat("Credit application ", application_id, " was created."),
               {}};
}

Event ApplicationUpdated(int64_t application_id) {
  return Event{"credits.application.updated",
               absl::StrCat("Credit application ", application_id, " was updated."),
               {}};
}

Event ApplicationTransitioned(int64_t application_id, ApplicationAction action,
                              int64_t supplier_organization_id) {
  Event event{absl::StrCat("credits.application.", PastTense(action)),
              absl::StrCat("Credit application ", application_id, " was ", Sentence(action), "."),
              {}};
  Recipients& r = event.recipients;
  switch (action) {
    case A::kSubmit:
    case A::kReturnToAnalyst:
      r.government_roles = {R::kEngineerAnalyst};
      break;
    case A::kRecommendApproval:
    case A::kRecommendRejection:
      r.government_roles = {R::kDirector};
      break;
    case A::kReturnToSupplier:
    case A::kValidate:
    case A::kReject:
      r.organizations = {supplier_organization_id};
      break;
    case A::kCheck:
    case A::kDelete:
    case A::kUnspecified:
      break;
  }
  return event;
}

}  // namespace zeva::domain
