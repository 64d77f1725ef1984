// Every (status, action, party, role) triple against the contract's workflow table, written
// out here independently of domain/transfer_workflow.cc.

#include "domain/transfer_workflow.h"

#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "domain/refusal.h"

using namespace zeva::domain;
using S = TransferStatus;
using A = TransferAction;

namespace {

struct Caller {
  const char* name;
  Party party;
  bool government;
  std::vector<std::string> roles;
};

// The contract's table: (from, action, party, role) -> to.
struct Row {
  S from;
  A action;
  Party party;
  const char* role;
  S to;
};

const std::vector<Row>& ContractTable() {
  static const std::vector<Row> rows = [] {
    std::vector<Row> r = {
        {S::kDraft, A::kDelete, Party::kSeller, "ZEVA_USER", S::kDeleted},
        {S::kDraft, A::kDelete, Party::kSeller, "SIGNING_AUTHORITY", S::kDeleted},
        {S::kDraft, A::kSubmit, Party::kSeller, "SIGNING_AUTHORITY", S::kSubmitted},
        {S::kSubmitted, A::kAccept, Party::kBuyer, "SIGNING_AUTHORITY", S::kAccepted},
        {S::kSubmitted, A::kDecline, Party::kBuyer, "SIGNING_AUTHORITY", S::kDeclined},
        {S::kAccepted, A::kRecommendApproval, Party::kGovernment, "ENGINEER_ANALYST",
         S::kRecommendedApproval},
        {S::kAccepted, A::kRecommendRejection, Party::kGovernment, "ENGINEER_ANALYST",
         S::kRecommendedRejection},
        {S::kRecommendedApproval, A::kRecord, Party::kGovernment, "DIRECTOR", S::kRecorded},
    };
    for (S from :
         {S::kSubmitted, S::kAccepted, S::kRecommendedApproval, S::kRecommendedRejection}) {
      r.push_back({from, A::kRescind, Party::kSeller, "SIGNING_AUTHORITY", S::kRescinded});
      r.push_back({from, A::kRescind, Party::kBuyer, "SIGNING_AUTHORITY", S::kRescinded});
    }
    for (S from : {S::kRecommendedApproval, S::kRecommendedRejection}) {
      r.push_back({from, A::kReturnToAnalyst, Party::kGovernment, "DIRECTOR", S::kAccepted});
      r.push_back({from, A::kReject, Party::kGovernment, "DIRECTOR", S::kRejected});
    }
    return r;
  }();
  return rows;
}

bool Holds(const Caller& c, const char* role) {
  return std::find(c.roles.begin(), c.roles.end(), role) != c.roles.end();
}

}  // namespace

TEST_CASE("the workflow table, every (status, action, caller) triple", "[workflow]") {
  const std::vector<Caller> callers = {
      {"seller SIGNING_AUTHORITY", Party::kSeller, false, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
      {"seller ZEVA_USER", Party::kSeller, false, {"ZEVA_USER"}},
      {"buyer SIGNING_AUTHORITY", Party::kBuyer, false, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
      {"buyer ZEVA_USER", Party::kBuyer, false, {"ZEVA_USER"}},
      {"analyst", Party::kGovernment, true, {"ENGINEER_ANALYST"}},
      {"director", Party::kGovernment, true, {"DIRECTOR"}},
      {"supplier with a government role", Party::kSeller, false, {"DIRECTOR"}},
      {"government with a supplier role", Party::kGovernment, true, {"SIGNING_AUTHORITY"}},
      {"other supplier", Party::kOther, false, {"SIGNING_AUTHORITY"}},
  };
  int allowed = 0;
  int denied = 0;
  int wrong_status = 0;
  for (int s = 1; s <= 10; ++s) {
    for (int a = 1; a <= 10; ++a) {
      for (const Caller& c : callers) {
        const S status = static_cast<S>(s);
        const A action = static_cast<A>(a);
        INFO(c.name << " " << ActionName(action) << " from " << StatusName(status));
        std::optional<S> to;
        bool named = false;
        for (const Row& row : ContractTable()) {
          if (row.action != action || row.party != c.party || !Holds(c, row.role)) continue;
          // A role of the other side counts for nothing.
          const bool government_role =
              std::string(row.role) == "DIRECTOR" || std::string(row.role) == "ENGINEER_ANALYST";
          if (government_role != c.government) continue;
          named = true;
          if (row.from == status) to = row.to;
        }
        auto decided = Decide(status, action, c.party, c.government, c.roles);
        const auto actions = AllowedActions(status, c.party, c.government, c.roles);
        const bool listed = std::find(actions.begin(), actions.end(), action) != actions.end();
        if (to) {
          ++allowed;
          REQUIRE(decided.ok());
          CHECK(decided->to == *to);
          CHECK(listed);
        } else if (!named) {
          ++denied;
          CHECK(decided.status().code() == absl::StatusCode::kPermissionDenied);
          CHECK_FALSE(listed);
        } else {
          ++wrong_status;
          CHECK(decided.status().code() == absl::StatusCode::kFailedPrecondition);
          CHECK(RefusalReason(decided.status()) == kReasonInvalidStatus);
          CHECK_FALSE(listed);
        }
      }
    }
  }
  CHECK(allowed == 20);  // the table's rows, as the callers above can take them
  CHECK(denied + wrong_status + allowed == 10 * 10 * 9);
}

TEST_CASE("credit effects follow the contract", "[workflow]") {
  const std::vector<std::string> sa = {"SIGNING_AUTHORITY"};
  CHECK(Decide(S::kDraft, A::kSubmit, Party::kSeller, false, sa)->effect == CreditEffect::kReserve);
  CHECK(Decide(S::kSubmitted, A::kDecline, Party::kBuyer, false, sa)->effect ==
        CreditEffect::kRelease);
  CHECK(Decide(S::kAccepted, A::kRescind, Party::kSeller, false, sa)->effect ==
        CreditEffect::kRelease);
  CHECK(
      Decide(S::kRecommendedApproval, A::kRecord, Party::kGovernment, true, {"DIRECTOR"})->effect ==
      CreditEffect::kRecord);
  CHECK(Decide(S::kRecommendedRejection, A::kReject, Party::kGovernment, true, {"DIRECTOR"})
            ->effect == CreditEffect::kRelease);
  CHECK(Decide(S::kSubmitted, A::kAccept, Party::kBuyer, false, sa)->effect == CreditEffect::kNone);
}

TEST_CASE("who sees a transfer in which status", "[workflow]") {
  for (int s = 1; s <= 10; ++s) {
    const S status = static_cast<S>(s);
    const bool hidden = status == S::kDraft || status == S::kDeleted;
    CHECK(MaySee(Party::kSeller, status));
    CHECK(MaySee(Party::kBuyer, status) == !hidden);
    CHECK(MaySee(Party::kGovernment, status) == !hidden);
    CHECK_FALSE(MaySee(Party::kOther, status));
  }
  CHECK(PartyOf(false, 1, 1, 2) == Party::kSeller);
  CHECK(PartyOf(false, 2, 1, 2) == Party::kBuyer);
  CHECK(PartyOf(false, 3, 1, 2) == Party::kOther);
  CHECK(PartyOf(true, 9, 1, 2) == Party::kGovernment);
}

TEST_CASE("transfer lines, value and comments", "[workflow]") {
  auto lines = CheckTransferLines({{2021, 1, 150, 1999}, {2021, 2, 1, 1}}, 2026);
  REQUIRE(lines.ok());
  // 1.50 x $19.99 = 29.985 -> $29.99; 0.01 x $0.01 = 0.0001 -> 0.
  CHECK(TotalValueCents(*lines) == 2999);
  CHECK(RefusalField(CheckTransferLines({}, 2026).status()) == "lines");
  CHECK(RefusalField(CheckTransferLines({{2021, 1, 0, 0}}, 2026).status()) == "lines[0].amount");
  CHECK(RefusalField(CheckTransferLines({{2021, 1, 5, 0}, {2021, 1, 6, 0}}, 2026).status()) ==
        "lines[1].model_year");
  CHECK(RefusalField(CheckTransferLines({{2018, 1, 5, 0}}, 2026).status()) ==
        "lines[0].model_year");
  CHECK(RefusalField(CheckTransferLines({{2021, 0, 5, 0}}, 2026).status()) ==
        "lines[0].credit_class");
  CHECK(CheckComment("")->empty());
  CHECK(*CheckComment("  two\nlines ") == "two\nlines");
  CHECK(CheckComment(std::string(2000, 'c')).ok());
  CHECK(RefusalField(CheckComment(std::string(2001, 'c')).status()) == "comment");
  CHECK(RefusalField(CheckComment("bidi\xE2\x80\xAE").status()) == "comment");
}

TEST_CASE("transfer bounds: amount 10^11, price 10^7 cents, totals exact", "[workflow][bounds]") {
  // The defect this pins: 10^12 credits at $10M used to be accepted with a wrapped total.
  const auto huge = CheckTransferLines({{2021, 1, 100000000000000, 1000000000}}, 2026).status();
  CHECK(huge.code() == absl::StatusCode::kInvalidArgument);
  CHECK(RefusalField(huge) == "lines[0].amount");
  CHECK(RefusalField(CheckTransferLines({{2021, 1, kMaxAmountHundredths + 1, 1}}, 2026).status()) ==
        "lines[0].amount");
  const auto price = CheckTransferLines({{2021, 1, 100, kMaxPriceCents + 1}}, 2026).status();
  CHECK(RefusalField(price) == "lines[0].price_per_credit_cents");
  CHECK(std::string(price.message()).find("at most 10000000 cents") != std::string::npos);

  // Every key from 2019 to 2026 (8 years x 2 classes), each line at both bounds:
  // 16 x 10^9 credits x $100,000 = 1.6 x 10^17 cents, exactly.
  std::vector<TransferLineInput> inputs;
  for (uint32_t i = 0; i < 16; ++i) {
    inputs.push_back({2019 + i % 8, 1 + static_cast<int>(i / 8), kMaxAmountHundredths,
                      static_cast<uint64_t>(kMaxPriceCents)});
  }
  auto lines = CheckTransferLines(inputs, 2026);
  REQUIRE(lines.ok());
  CHECK(TotalValueCents(*lines) == 160000000000000000ULL);
  // One line at the bound: 10^11 hundredths x 10^7 cents / 100 = 10^16 cents.
  CHECK(TotalValueCents({{CreditKey{2021, CreditClass::kA}, kMaxAmountHundredths,
                          kMaxPriceCents}}) == 10000000000000000ULL);
  // Half up per line: 0.01 credit at $0.50 is 0.5 cent -> 1 cent.
  CHECK(TotalValueCents({{CreditKey{2021, CreditClass::kA}, 1, 50}}) == 1);
  // Lines stored before the bounds (10^12 x 10^9 each) exceed uint64 together: the largest
  // value, not a wrapped one.
  const std::vector<TransferLine> legacy(
      3, TransferLine{CreditKey{2021, CreditClass::kA}, 1000000000000, 1000000000});
  CHECK(TotalValueCents({legacy[0]}) == 10000000000000000000ULL);
  CHECK(TotalValueCents(legacy) == UINT64_MAX);
}
