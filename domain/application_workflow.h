#pragma once
// The credit application workflow as one table (docs/applications.md, "The workflow"): for
// every status, the actions each side and role may take and the status that follows, plus
// who may edit records and decisions, who sees an application, and the event each step
// emits. The server consults it for every change and for `allowed_actions`, so the rules
// exist here and nowhere else.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/credit_ledger.h"
#include "domain/notification_rules.h"

namespace zeva::domain {

// Numbered as the wire enums (zeva.credits.v1.ApplicationStatus / ApplicationAction).
enum class ApplicationStatus {
  kUnspecified = 0,
  kDraft = 1,
  kSubmitted = 2,
  kChecked = 3,
  kRecommendedApproval = 4,
  kRecommendedRejection = 5,
  kValidated = 6,
  kRejected = 7,
  kDeleted = 8,
};
enum class ApplicationAction {
  kUnspecified = 0,
  kSubmit = 1,
  kCheck = 2,
  kRecommendApproval = 3,
  kRecommendRejection = 4,
  kReturnToAnalyst = 5,
  kValidate = 6,
  kReject = 7,
  kReturnToSupplier = 8,
  kDelete = 9,
};

// The caller's relation to an application.
enum class ApplicantParty { kSupplier, kGovernment, kOther };

// What a step does beyond changing the status.
enum class ApplicationEffect {
  kNone,
  kFixValues,   // SUBMIT: needs a record; each line's class and value fixed
  kCheck,       // CHECK: warnings computed anew, decisions replaced
  kClearCheck,  // RETURN_TO_SUPPLIER: warnings, decisions, fixed values cleared
  kIssue,       // VALIDATE: one ISSUANCE journal, the included VINs awarded
};

struct ApplicationTransition {
  ApplicationStatus from;
  ApplicationAction action;
  ApplicantParty party;
  Role role;
  ApplicationStatus to;
  ApplicationEffect effect;
};

// Every row of the workflow table (one per alternative role).
const std::vector<ApplicationTransition>& ApplicationWorkflowTable();

// The caller's party: the supplier that owns the application, government, or other.
ApplicantParty ApplicantPartyOf(bool government, int64_t caller_organization_id,
                                int64_t application_organization_id);

// Whether the party sees an application in `status` (others get NOT_FOUND, exactly like a
// missing id): the supplier always, government never in DRAFT or DELETED.
bool MaySeeApplication(ApplicantParty party, ApplicationStatus status);

// The row for `action` from `status`: PERMISSION_DENIED when no row (in any status) names the
// action for the caller's party and roles; FAILED_PRECONDITION (INVALID_STATUS) when rows do
// but none from `status`.
absl::StatusOr<ApplicationTransition> DecideApplication(ApplicationStatus status,
                                                        ApplicationAction action,
                                                        ApplicantParty party, bool government,
                                                        const std::vector<std::string>& roles);

// What the caller may do now, in enum order.
std::vector<ApplicationAction> AllowedApplicationActions(ApplicationStatus status,
                                                         ApplicantParty party, bool government,
                                                         const std::vector<std::string>& roles);

// CreateApplication: a supplier's ZEVA_USER or SIGNING_AUTHORITY (PERMISSION_DENIED else).
absl::Status MayCreateApplication(bool government, const std::vector<std::string>& roles);
// Add/RemoveSalesRecords: the owning supplier's ZEVA_USER or SIGNING_AUTHORITY, in DRAFT.
absl::Status MayEditRecords(ApplicationStatus status, ApplicantParty party, bool government,
                            const std::vector<std::string>& roles);
// SetRecordDecisions: a government ENGINEER_ANALYST, in CHECKED.
absl::Status MayDecide(ApplicationStatus status, ApplicantParty party, bool government,
                       const std::vector<std::string>& roles);

// "SUBMITTED", "RETURN_TO_SUPPLIER": as the database's enums spell them.
const char* ApplicationStatusName(ApplicationStatus status);
const char* ApplicationActionName(ApplicationAction action);
ApplicationStatus ApplicationStatusNamed(const std::string& name);  // kUnspecified if unknown

// The events of applications and who is notified (docs/applications.md, "Events and
// recipients"); the acting user is never notified (the caller of the outbox filters).
Event ApplicationCreated(int64_t application_id);
Event ApplicationUpdated(int64_t application_id);  // records or decisions changed
Event ApplicationTransitioned(int64_t application_id, ApplicationAction action,
                              int64_t supplier_organization_id);

}  // namespace zeva::domain
