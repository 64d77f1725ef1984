#include "domain/transfer_workflow.h"

#include <algorithm>
#include <set>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "domain/text.h"
#include "domain/workflow_table.h"

namespace zeva::domain {
namespace {

using S = TransferStatus;
using A = TransferAction;
using P = Party;
using R = Role;
using E = CreditEffect;

constexpr size_t kMaxCommentLength = 2000;
constexpr S kReserving[] = {S::kSubmitted, S::kAccepted, S::kRecommendedApproval,
                            S::kRecommendedRejection};

std::vector<Transition> BuildTable() {
  std::vector<Transition> t = {
      {S::kDraft, A::kDelete, P::kSeller, R::kZevaUser, S::kDeleted, E::kNone},
      {S::kDraft, A::kDelete, P::kSeller, R::kSigningAuthority, S::kDeleted, E::kNone},
      {S::kDraft, A::kSubmit, P::kSeller, R::kSigningAuthority, S::kSubmitted, E::kReserve},
      {S::kSubmitted, A::kAccept, P::kBuyer, R::kSigningAuthority, S::kAccepted, E::kNone},
      {S::kSubmitted, A::kDecline, P::kBuyer, R::kSigningAuthority, S::kDeclined, E::kRelease},
      {S::kAccepted, A::kRecommendApproval, P::kGovernment, R::kEngineerAnalyst,
       S::kRecommendedApproval, E::kNone},
      {S::kAccepted, A::kRecommendRejection, P::kGovernment, R::kEngineerAnalyst,
       S::kRecommendedRejection, E::kNone},
      {S::kRecommendedApproval, A::kRecord, P::kGovernment, R::kDirector, S::kRecorded, E::kRecord},
  };
  for (S from : kReserving) {
    for (P party : {P::kSeller, P::kBuyer}) {
      t.push_back({from, A::kRescind, party, R::kSigningAuthority, S::kRescinded, E::kRelease});
    }
  }
  for (S from : {S::kRecommendedApproval, S::kRecommendedRejection}) {
    t.push_back({from, A::kReturnToAnalyst, P::kGovernment, R::kDirector, S::kAccepted, E::kNone});
    t.push_back({from, A::kReject, P::kGovernment, R::kDirector, S::kRejected, E::kRelease});
  }
  return t;
}

}  // namespace

const std::vector<Transition>& WorkflowTable() {
  static const std::vector<Transition> table = BuildTable();
  return table;
}

Party PartyOf(bool government, int64_t organization_id, int64_t from_organization_id,
              int64_t to_organization_id) {
  if (government) return Party::kGovernment;
  if (organization_id == from_organization_id) return Party::kSeller;
  if (organization_id == to_organization_id) return Party::kBuyer;
  return Party::kOther;
}

bool MaySee(Party party, TransferStatus status) {
  switch (party) {
    case Party::kSeller:
      return true;
    case Party::kBuyer:
    case Party::kGovernment:
      return status != S::kDraft && status != S::kDeleted;
    case Party::kOther:
      return false;
  }
  return false;
}

absl::StatusOr<Transition> Decide(TransferStatus status, TransferAction action, Party party,
                                  bool government, const std::vector<std::string>& roles) {
  return DecideIn(WorkflowTable(), status, action, party, government, roles,
                  WorkflowNoun{"transfer", "a transfer"}, StatusName(status), ActionName(action));
}

std::vector<TransferAction> AllowedActions(TransferStatus status, Party party, bool government,
                                           const std::vector<std::string>& roles) {
  return AllowedIn<Transition, TransferStatus, TransferAction>(WorkflowTable(), status, party,
                                                               government, roles);
}

bool MayDraft(bool government, const std::vector<std::string>& roles) {
  return HasRole(government, roles, Role::kZevaUser) ||
         HasRole(government, roles, Role::kSigningAuthority);
}

const char* StatusName(TransferStatus status) {
  static const char* const kNames[] = {"UNSPECIFIED",
                                       "DRAFT",
                                       "SUBMITTED",
                                       "ACCEPTED",
                                       "DECLINED",
                                       "RECOMMENDED_APPROVAL",
                                       "RECOMMENDED_REJECTION",
                                       "RECORDED",
                                       "REJECTED",
                                       "RESCINDED",
                                       "DELETED"};
  const int i = static_cast<int>(status);
  return i >= 0 && i <= 10 ? kNames[i] : "UNSPECIFIED";
}

const char* ActionName(TransferAction action) {
  static const char* const kNames[] = {"UNSPECIFIED",
                                       "SUBMIT",
                                       "ACCEPT",
                                       "DECLINE",
                                       "RECOMMEND_APPROVAL",
                                       "RECOMMEND_REJECTION",
                                       "RETURN_TO_ANALYST",
                                       "RECORD",
                                       "REJECT",
                                       "RESCIND",
                                       "DELETE"};
  const int i = static_cast<int>(action);
  return i >= 0 && i <= 10 ? kNames[i] : "UNSPECIFIED";
}

TransferStatus StatusNamed(const std::string& name) {
  for (int i = 1; i <= 10; ++i) {
    if (name == StatusName(static_cast<TransferStatus>(i))) return static_cast<TransferStatus>(i);
  }
  return S::kUnspecified;
}

TransferAction ActionNamed(const std::string& name) {
  for (int i = 1; i <= 10; ++i) {
    if (name == ActionName(static_cast<TransferAction>(i))) return static_cast<TransferAction>(i);
  }
  return A::kUnspecified;
}

absl::StatusOr<std::vector<TransferLine>> CheckTransferLines(
    const std::vector<TransferLineInput>& lines, int current_year) {
  if (lines.empty() || lines.size() > kMaxLines) {
    return InvalidField("lines", absl::StrCat("must hold 1 to ", kMaxLines, " lines"));
  }
  std::vector<TransferLine> out;
  std::set<CreditKey> keys;
  for (size_t i = 0; i < lines.size(); ++i) {
    const TransferLineInput& line = lines[i];
    const std::string at = absl::StrCat("lines[", i, "].");
    if (line.model_year < kFirstModelYear ||
        line.model_year > static_cast<uint32_t>(current_year + 1)) {
      return InvalidField(
          at + "model_year",
          absl::StrCat("must be a model year from ", kFirstModelYear, " to ", current_year + 1));
    }
    auto credit_class = WireClass(line.credit_class, at + "credit_class");
    if (!credit_class.ok()) return credit_class.status();
    if (line.amount <= 0) return InvalidField(at + "amount", "must be greater than 0");
    if (line.amount > kMaxAmountHundredths) {
      return InvalidField(at + "amount", kAmountBoundMessage);
    }
    if (line.price_per_credit_cents > static_cast<uint64_t>(kMaxPriceCents)) {
      return InvalidField(at + "price_per_credit_cents",
                          "must be at most 10000000 cents ($100,000 a credit)");
    }
    const CreditKey key{static_cast<int32_t>(line.model_year), *credit_class};
    if (!keys.insert(key).second) {
      return InvalidField(at + "model_year", absl::StrCat("repeats ", KeyName(key),
                                                          "; one line per model year and class"));
    }
    out.push_back(
        TransferLine{key, line.amount, static_cast<int64_t>(line.price_per_credit_cents)});
  }
  return out;
}

uint64_t TotalValueCents(const std::vector<TransferLine>& lines) {
  // 128-bit, so that no line and no sum can overflow whatever the lines hold. Within the
  // request bounds the total is at most 100 lines x 10^11 x 10^7 / 100 = 10^18 cents.
  static_assert(kMaxLines * (kMaxAmountHundredths / 100) * kMaxPriceCents <= INT64_MAX / 2,
                "the bounds keep every total within int64");
  absl::uint128 total = 0;
  for (const TransferLine& line : lines) {
    // amount in hundredths x cents per credit / 100, rounded half up. Stored lines are
    // positive (database CHECKs); a negative one would add nothing rather than wrap.
    if (line.amount <= 0 || line.price_per_credit_cents <= 0) continue;
    total += (absl::uint128(static_cast<uint64_t>(line.amount)) *
                  static_cast<uint64_t>(line.price_per_credit_cents) +
              50) /
             100;
  }
  // Only lines stored before the bounds existed can get here (up to 10^21 cents): the wire's
  // uint64 cannot carry them, so the total is its largest value rather than a wrapped one.
  return absl::Uint128High64(total) != 0 ? UINT64_MAX : absl::Uint128Low64(total);
}

absl::StatusOr<std::string> CheckComment(const std::string& comment) {
  auto clean = CleanText("comment", comment, kMaxCommentLength, /*multiline=*/true);
  // A comment is optional: blank is no comment.
  if (!clean.ok() && clean.status().message() == "comment must not be empty") return std::string();
  return clean;
}

}  // namespace zeva::domain
