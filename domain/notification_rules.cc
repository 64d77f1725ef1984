#include "domain/notification_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace zeva::domain {
namespace {

// "credits.transfer.returned_to_analyst" for RETURN_TO_ANALYST: the contract's past tenses.
std::string EventName(TransferAction action) {
  switch (action) {
    case TransferAction::kSubmit:
      return "submitted";
    case TransferAction::kAccept:
      return "accepted";
    case TransferAction::kDecline:
      return "declined";
    case TransferAction::kRecommendApproval:
      return "recommended_approval";
    case TransferAction::kRecommendRejection:
      return "recommended_rejection";
    case TransferAction::kReturnToAnalyst:
      return "returned_to_analyst";
    case TransferAction::kRecord:
      return "recorded";
    case TransferAction::kReject:
      return "rejected";
    case TransferAction::kRescind:
      return "rescinded";
    case TransferAction::kDelete:
      return "deleted";
    case TransferAction::kUnspecified:
      break;
  }
  return "changed";
}

}  // namespace

Event TransferCreated(int64_t transfer_id) {
  return Event{"credits.transfer.created",
               absl::StrCat("Credit transfer ", transfer_id, " was created."),
               {}};
}

Event TransferUpdated(int64_t transfer_id) {
  return Event{"credits.transfer.updated",
               absl::StrCat("Credit transfer ", transfer_id, " was updated."),
               {}};
}

Event TransferTransitioned(int64_t transfer_id, TransferAction action, TransferStatus from,
                           int64_t seller, int64_t buyer, int64_t actor_organization_id) {
  const std::string name = EventName(action);
  Event event{absl::StrCat("credits.transfer.", name),
              absl::StrCat("Credit transfer ", transfer_id, " was ",
                           name == "returned_to_analyst"     ? "returned to the analyst"
                           : name == "recommended_approval"  ? "recommended for approval"
                           : name == "recommended_rejection" ? "recommended for rejection"
                                                             : name,
                           "."),
              {}};
  Recipients& r = event.recipients;
  const bool reviewed =
      from == TransferStatus::kRecommendedApproval || from == TransferStatus::kRecommendedRejection;
  switch (action) {
    case TransferAction::kSubmit:
      r.organizations = {buyer};
      break;
    case TransferAction::kAccept:
      r.organizations = {seller};
      r.government_roles = {Role::kEngineerAnalyst};
      break;
    case TransferAction::kDecline:
      r.organizations = {seller};
      break;
    case TransferAction::kRecommendApproval:
    case TransferAction::kRecommendRejection:
      r.government_roles = {Role::kDirector};
      break;
    case TransferAction::kReturnToAnalyst:
      r.government_roles = {Role::kEngineerAnalyst};
      break;
    case TransferAction::kRecord:
    case TransferAction::kReject:
      r.organizations = {seller, buyer};
      break;
    case TransferAction::kRescind:
      r.organizations = {actor_organization_id == seller ? buyer : seller};
      if (from == TransferStatus::kAccepted || reviewed) {
        r.government_roles.push_back(Role::kEngineerAnalyst);
      }
      if (reviewed) r.government_roles.push_back(Role::kDirector);
      break;
    case TransferAction::kDelete:
    case TransferAction::kUnspecified:
      break;
  }
  return event;
}

Event JournalPosted(int64_t journal_id, const std::string& kind,
                    const std::vector<int64_t>& suppliers) {
  const std::string name = absl::AsciiStrToLower(kind);
  return Event{absl::StrCat("credits.journal.", name),
               absl::StrCat("Credits were posted to your organization (", name, ", journal ",
                            journal_id, ")."),
               Recipients{suppliers, {}, {}}};
}

Event IcbcImportFinished(int64_t import_id, const std::string& file_name, bool completed,
                         const std::string& uploader, int64_t added, int64_t changed,
                         const std::string& failure) {
  if (completed) {
    return Event{"icbc.import.completed",
                 absl::StrCat("ICBC import ", import_id, " (", file_name, ") completed: ", added,
                              " registrations added, ", changed, " changed."),
                 Recipients{{}, {}, {uploader}}};
  }
  return Event{"icbc.import.failed",
               absl::StrCat("ICBC import ", import_id, " (", file_name, ") failed: ", failure),
               Recipients{{}, {}, {uploader}}};
}

}  // namespace zeva::domain
