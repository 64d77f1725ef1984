#pragma once
// The transfer workflow as one table (docs/credits.md, "The transfer workflow"): for every
// status, the actions each side and role may take, the status that follows, and the effect on
// credits. The server consults it for every transition and for `allowed_actions`, so the
// rules exist here and nowhere else.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/credit_ledger.h"

namespace zeva::domain {

// Numbered as the wire enums (zeva.credits.v1.TransferStatus / TransferAction).
enum class TransferStatus {
  kUnspecified = 0,
  kDraft = 1,
  kSubmitted = 2,
  kAccepted = 3,
  kDeclined = 4,
  kRecommendedApproval = 5,
  kRecommendedRejection = 6,
  kRecorded = 7,
  kRejected = 8,
  kRescinded = 9,
  kDeleted = 10,
};
enum class TransferAction {
  kUnspecified = 0,
  kSubmit = 1,
  kAccept = 2,
  kDecline = 3,
  kRecommendApproval = 4,
  kRecommendRejection = 5,
  kReturnToAnalyst = 6,
  kRecord = 7,
  kReject = 8,
  kRescind = 9,
  kDelete = 10,
};

// The caller's relation to a transfer.
enum class Party { kSeller, kBuyer, kGovernment, kOther };

enum class CreditEffect {
  kNone,
  kReserve,  // every line's amount from the seller's available into reserved
  kRelease,  // the reservation back
  kRecord,   // one TRANSFER journal: -seller, +buyer per line; the reservation consumed
};

struct Transition {
  TransferStatus from;
  TransferAction action;
  Party party;
  Role role;
  TransferStatus to;
  CreditEffect effect;
};

// Every row of the workflow table (one per alternative role).
const std::vector<Transition>& WorkflowTable();

// The caller's party: seller, buyer, government (any government user), or other.
Party PartyOf(bool government, int64_t organization_id, int64_t from_organization_id,
              int64_t to_organization_id);

// Whether the party sees a transfer in `status` at all (others get NOT_FOUND): the seller
// always, the buyer and government from SUBMITTED on, never DRAFT or DELETED.
bool MaySee(Party party, TransferStatus status);

// The row for `action` from `status`: PERMISSION_DENIED when no row (in any status) names the
// action for the caller's party and roles; FAILED_PRECONDITION (INVALID_STATUS) when rows do
// but none from `status`.
absl::StatusOr<Transition> Decide(TransferStatus status, TransferAction action, Party party,
                                  bool government, const std::vector<std::string>& roles);

// What the caller may do now, in enum order (whatever the balance).
std::vector<TransferAction> AllowedActions(TransferStatus status, Party party, bool government,
                                           const std::vector<std::string>& roles);

// Who may create, update or delete a draft: the seller's ZEVA_USER or SIGNING_AUTHORITY.
bool MayDraft(bool government, const std::vector<std::string>& roles);

// "SUBMITTED", "RECOMMEND_APPROVAL": as the database's enums spell them.
const char* StatusName(TransferStatus status);
const char* ActionName(TransferAction action);
TransferStatus StatusNamed(const std::string& name);  // kUnspecified when unknown
TransferAction ActionNamed(const std::string& name);  // kUnspecified when unknown

// A transfer's lines as submitted.
struct TransferLineInput {
  uint32_t model_year = 0;
  int credit_class = 0;  // wire enum
  int64_t amount = 0;    // hundredths, > 0
  uint64_t price_per_credit_cents = 0;
};
struct TransferLine {
  CreditKey key;
  int64_t amount = 0;
  int64_t price_per_credit_cents = 0;
};
// 1..100 lines, amount > 0, class A or B, model year 2019..next year, no two with one key.
absl::StatusOr<std::vector<TransferLine>> CheckTransferLines(
    const std::vector<TransferLineInput>& lines, int current_year);
// Sum over lines of amount x price / 100, each line rounded half up (cents), exact: within the
// request bounds it is at most 10^18. Lines stored before the bounds existed may exceed
// uint64; their total is UINT64_MAX, never a wrapped value.
uint64_t TotalValueCents(const std::vector<TransferLine>& lines);
// A transition or creation comment: at most 2000 code points (may be empty).
absl::StatusOr<std::string> CheckComment(const std::string& comment);

}  // namespace zeva::domain
