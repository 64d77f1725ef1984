// The compliance rule and the model year report workflow against COMPLIANCE.md: ZEVA's worked
// examples verbatim, every size boundary, the class A rules by size and year, rounding, the
// deduction order, the penalty, the report inputs, the workflow table written out here
// independently of domain/compliance_workflow.cc, and a property test of 10^4 random cases.

#include "domain/compliance_rule.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <random>

#include "domain/compliance_workflow.h"
#include "domain/refusal.h"

using namespace zeva::domain;

namespace {

constexpr CreditClass kA = CreditClass::kA;
constexpr CreditClass kB = CreditClass::kB;
constexpr ObligationPart kClassA = ObligationPart::kClassA;
constexpr ObligationPart kAny = ObligationPart::kAnyClass;

ComplianceRatio RatioOf(int year) {
  for (const ComplianceRatio& r : ContractRatios()) {
    if (r.model_year == year) return r;
  }
  FAIL("no ratio for " << year);
  return {};
}

std::map<CreditKey, int64_t> AfterDeductions(std::map<CreditKey, int64_t> balances,
                                             const AssessmentOutcome& outcome) {
  for (const auto& [key, amount] : DeductedPerKey(outcome.deductions)) balances[key] -= amount;
  for (auto it = balances.begin(); it != balances.end();) {
    it = it->second == 0 ? balances.erase(it) : std::next(it);
  }
  return balances;
}

}  // namespace

TEST_CASE("ZEVA's worked example: large supplier, 2025, 6,000 LDVs, class B first",
          "[compliance]") {
  const Obligation o = ObligationOf(6000, 20000, RatioOf(2025));
  CHECK(o.size == SupplierSize::kLarge);
  CHECK(o.total == 132000);
  CHECK(o.class_a == 96000);
  CHECK(o.any_class == 36000);
  const std::map<CreditKey, int64_t> credits{{{2020, kA}, 20000}, {{2020, kB}, 10000},
                                             {{2021, kB}, 5000},  {{2023, kA}, 65240},
                                             {{2023, kB}, 41890}, {{2024, kA}, 70250}};
  const AssessmentOutcome out = Assess(credits, {}, 2025, o, kB, false);
  CHECK(out.compliant);
  CHECK(out.deficits.empty());
  CHECK(out.penalty_cents == 0);
  const std::map<CreditKey, int64_t> left{{{2023, kB}, 20890}, {{2024, kA}, 59490}};
  CHECK(AfterDeductions(credits, out) == left);
  // In the order applied: class A oldest first, then any class from B oldest first.
  REQUIRE(out.deductions.size() == 6);
  CHECK(out.deductions[0].credit == CreditKey{2020, kA});
  CHECK(out.deductions[0].amount == 20000);
  CHECK(out.deductions[1].credit == CreditKey{2023, kA});
  CHECK(out.deductions[2].credit == CreditKey{2024, kA});
  CHECK(out.deductions[2].amount == 10760);
  CHECK(out.deductions[3].credit == CreditKey{2020, kB});
  CHECK(out.deductions[3].part == kAny);
  CHECK(out.deductions[4].credit == CreditKey{2021, kB});
  CHECK(out.deductions[5].credit == CreditKey{2023, kB});
  CHECK(out.deductions[5].amount == 21000);
  for (const Deduction& d : out.deductions) CHECK(d.debit_model_year == 2025);
}

TEST_CASE("ZEVA's worked obligations: 2024 with 5,000 and 2026 with 7,500, large", "[compliance]") {
  const Obligation y2024 = ObligationOf(5000, 15000, RatioOf(2024));
  CHECK(y2024.total == 97500);
  CHECK(y2024.class_a == 70000);
  CHECK(y2024.any_class == 27500);
  const Obligation y2026 = ObligationOf(7500, 15000, RatioOf(2026));
  CHECK(y2026.total == 197250);
  CHECK(y2026.class_a == 114000);
  CHECK(y2026.any_class == 83250);
  // The contract's own: 2026, 1,002 LDVs, large.
  const Obligation small_fleet = ObligationOf(1002, 15000, RatioOf(2026));
  CHECK(small_fleet.total == 26353);
  CHECK(small_fleet.class_a == 15230);
  CHECK(small_fleet.any_class == 11123);
}

TEST_CASE("supplier size: boundaries 2,999 / 3,000 / 14,999 / 15,000", "[compliance]") {
  CHECK(SizeOf(0) == SupplierSize::kSmall);
  CHECK(SizeOf(2999) == SupplierSize::kSmall);
  CHECK(SizeOf(3000) == SupplierSize::kMedium);
  CHECK(SizeOf(14999) == SupplierSize::kMedium);
  CHECK(SizeOf(15000) == SupplierSize::kLarge);
  CHECK(SizeOf(3000000000) == SupplierSize::kLarge);
}

TEST_CASE("class A by size and year; small owes nothing", "[compliance]") {
  for (const ComplianceRatio& r : ContractRatios()) {
    INFO(r.model_year);
    const Obligation small = ObligationOf(10000, 2999, r);
    CHECK(small.size == SupplierSize::kSmall);
    CHECK(small.total == 0);
    CHECK(small.class_a == 0);
    CHECK(small.any_class == 0);
    const Obligation medium = ObligationOf(10000, 3000, r);
    CHECK(medium.total == ShareOf(10000, r.total_basis_points));
    CHECK(medium.class_a ==
          (r.model_year >= 2026 ? ShareOf(10000, r.class_a_basis_points) : int64_t{0}));
    CHECK(medium.any_class == medium.total - medium.class_a);
    const Obligation large = ObligationOf(10000, 15000, r);
    CHECK(large.class_a == ShareOf(10000, r.class_a_basis_points));
    CHECK(large.any_class == large.total - large.class_a);
  }
  CHECK(ObligationOf(10000, 14999, RatioOf(2025)).class_a == 0);
  CHECK(ObligationOf(10000, 14999, RatioOf(2026)).class_a == 152000);
  CHECK(ObligationOf(10000, 15000, RatioOf(2019)).total == 0);
}

TEST_CASE("rounding half up, once per amount", "[compliance]") {
  CHECK(ShareOf(1, 950) == 10);   // 0.095 credits -> 0.10 (9.5 hundredths up)
  CHECK(ShareOf(1, 1450) == 15);  // 14.5 hundredths up
  CHECK(ShareOf(1, 2630) == 26);  // 26.3 down
  CHECK(ShareOf(3, 1450) == 44);  // 43.5 up
  CHECK(ShareOf(0, 10000) == 0);
  CHECK(ShareOf(1000000000, 10000) == 100000000000);  // 10^9 LDVs at 100 %, exact
  // any_class is total - class_a, not rounded again: 1 LDV, 2020: 0.10 - 0.06.
  const Obligation o = ObligationOf(1, 15000, RatioOf(2020));
  CHECK(o.total == 10);
  CHECK(o.class_a == 6);
  CHECK(o.any_class == 4);
}

TEST_CASE("the ratios are the contract's table", "[compliance]") {
  REQUIRE(ContractRatios().size() == 17);
  CHECK(RatioOf(2019).total_basis_points == 0);
  CHECK(RatioOf(2026).total_basis_points == 2630);
  CHECK(RatioOf(2026).class_a_basis_points == 1520);
  CHECK(RatioOf(2027).class_a_basis_points == 2770);
  CHECK(RatioOf(2030).total_basis_points == 9100);
  CHECK(RatioOf(2035).total_basis_points == 10000);
  CHECK(RatioOf(2035).class_a_basis_points == 7500);
}

TEST_CASE("deficits: old ones paid first, the rest keep their year; class A only from A",
          "[compliance]") {
  // Outstanding: 2024 class A 100.00, 2024 any class 50.00. This year (2025): A 60.00, any 40.00.
  Obligation o;
  o.size = SupplierSize::kLarge;
  o.class_a = 6000;
  o.any_class = 4000;
  o.total = 10000;
  const std::vector<Deficit> outstanding{{2024, kClassA, 10000}, {2024, kAny, 5000}};
  // Only B credits: no class A debit is paid; any class takes B.
  const std::map<CreditKey, int64_t> b_only{{{2022, kB}, 7000}};
  const AssessmentOutcome out = Assess(b_only, outstanding, 2025, o, kA, true);
  REQUIRE(out.deductions.size() == 2);
  CHECK(out.deductions[0].part == kAny);
  CHECK(out.deductions[0].debit_model_year == 2024);
  CHECK(out.deductions[0].amount == 5000);
  CHECK(out.deductions[1].debit_model_year == 2025);
  CHECK(out.deductions[1].amount == 2000);
  const std::vector<Deficit> left{
      {2024, kClassA, 10000}, {2025, kClassA, 6000}, {2025, kAny, 2000}};
  CHECK(out.deficits == left);
  CHECK_FALSE(out.compliant);
  // Penalty: 100.00 x $5,000 + 60.00 x $5,000 + 20.00 x $5,000 = $900,000.
  CHECK(out.penalty_cents == 90000000);
  // Without a deficit the year before: no penalty.
  CHECK(Assess(b_only, outstanding, 2025, o, kA, false).penalty_cents == 0);
  // From 2026 a deficit of that year costs $20,000 a credit.
  const AssessmentOutcome later = Assess({}, {{2025, kAny, 100}}, 2026, o, kB, true);
  CHECK(later.penalty_cents == 100 * 5000 + 6000 * 20000 + 4000 * 20000);
}

TEST_CASE("any class: the chosen class first, then the other, each oldest first", "[compliance]") {
  Obligation o;
  o.any_class = 500;
  o.total = 500;
  const std::map<CreditKey, int64_t> credits{
      {{2021, kA}, 100}, {{2022, kB}, 100}, {{2020, kB}, 100}, {{2023, kA}, 400}};
  const AssessmentOutcome a_first = Assess(credits, {}, 2025, o, kA, false);
  REQUIRE(a_first.deductions.size() == 2);
  CHECK(a_first.deductions[0].credit == CreditKey{2021, kA});
  CHECK(a_first.deductions[1].credit == CreditKey{2023, kA});
  CHECK(a_first.deductions[1].amount == 400);
  const AssessmentOutcome b_first = Assess(credits, {}, 2025, o, kB, false);
  REQUIRE(b_first.deductions.size() == 4);
  CHECK(b_first.deductions[0].credit == CreditKey{2020, kB});
  CHECK(b_first.deductions[1].credit == CreditKey{2022, kB});
  CHECK(b_first.deductions[2].credit == CreditKey{2021, kA});
  CHECK(b_first.deductions[3].credit == CreditKey{2023, kA});
  CHECK(b_first.deductions[3].amount == 200);
  // Zero and negative balances are never touched; nothing owed deducts nothing.
  CHECK(Assess({{{2020, kA}, -5}, {{2021, kB}, 0}}, {}, 2025, o, kA, false).deductions.empty());
  CHECK(Assess(credits, {}, 2025, Obligation{}, kA, false).deductions.empty());
}

TEST_CASE("property: 10^4 random assessments keep every credit and every debit", "[compliance]") {
  std::mt19937_64 rng(20260325);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int n = 0; n < 10000; ++n) {
    const int year = static_cast<int>(uniform(2019, 2035));
    std::map<CreditKey, int64_t> credits;
    for (int k = static_cast<int>(uniform(0, 8)); k > 0; --k) {
      credits[CreditKey{static_cast<int32_t>(uniform(2019, 2036)), uniform(0, 1) ? kA : kB}] =
          uniform(0, 3) == 0 ? 0 : uniform(1, 500000);
    }
    std::vector<Deficit> outstanding;
    for (int y = 2019; y < year; ++y) {
      for (ObligationPart part : {kClassA, kAny}) {
        if (uniform(0, 5) == 0) outstanding.push_back(Deficit{y, part, uniform(1, 200000)});
      }
    }
    const Obligation o = ObligationOf(uniform(0, 50000), uniform(0, 30000), RatioOf(year));
    const CreditClass first = uniform(0, 1) ? kA : kB;
    const AssessmentOutcome out = Assess(credits, outstanding, year, o, first, uniform(0, 1) == 1);
    INFO("case " << n);

    // Deductions + remaining = starting, per key; nothing goes below zero.
    std::map<CreditKey, int64_t> remaining = credits;
    for (const Deduction& d : out.deductions) {
      REQUIRE(d.amount > 0);
      remaining[d.credit] -= d.amount;
      // No class A debit is ever paid with class B.
      if (d.part == kClassA) REQUIRE(d.credit.credit_class == kA);
    }
    for (const auto& [key, amount] : remaining) REQUIRE(amount >= 0);
    std::map<CreditKey, int64_t> back = remaining;
    for (const auto& [key, amount] : DeductedPerKey(out.deductions)) back[key] += amount;
    REQUIRE(back == credits);

    // Deductions + new deficits = debits, per part (and per debit year).
    std::map<std::pair<int, ObligationPart>, int64_t> debits, paid;
    for (const Deficit& d : outstanding) debits[{d.model_year, d.part}] += d.amount;
    if (o.class_a > 0) debits[{year, kClassA}] += o.class_a;
    if (o.any_class > 0) debits[{year, kAny}] += o.any_class;
    for (const Deduction& d : out.deductions) paid[{d.debit_model_year, d.part}] += d.amount;
    for (const Deficit& d : out.deficits) {
      REQUIRE(d.amount > 0);
      paid[{d.model_year, d.part}] += d.amount;
    }
    REQUIRE(paid == debits);

    // A deficit is left only when no credit that could pay it is left.
    for (const Deficit& d : out.deficits) {
      for (const auto& [key, amount] : remaining) {
        if (d.part == kAny || key.credit_class == kA) REQUIRE(amount == 0);
      }
    }
    REQUIRE(out.compliant == out.deficits.empty());
    if (out.compliant) REQUIRE(out.penalty_cents == 0);
    REQUIRE(std::is_sorted(
        out.deficits.begin(), out.deficits.end(), [](const Deficit& a, const Deficit& b) {
          return a.model_year != b.model_year ? a.model_year < b.model_year : a.part < b.part;
        }));
  }
}

TEST_CASE("report inputs: bounds, makes, previous years, model year", "[compliance]") {
  CHECK(CheckReportInputs(1000000000, {}, {}, 0).ok());
  CHECK(RefusalField(CheckReportInputs(1000000001, {}, {}, 0).status()) == "ldv_sales");
  CHECK(RefusalField(CheckReportInputs(1, {{2022, 1000000001}}, {}, 0).status()) ==
        "previous_sales[0].ldv_sales");
  CHECK(RefusalField(CheckReportInputs(1, {{2022, 1}, {2022, 2}}, {}, 0).status()) ==
        "previous_sales[1].model_year");
  auto makes = CheckReportInputs(1, {}, {"  Tesla ", "Kia"}, 1);
  REQUIRE(makes.ok());
  CHECK(*makes == std::vector<std::string>{"Tesla", "Kia"});
  CHECK(RefusalField(CheckReportInputs(1, {}, {"Tesla", " tesla "}, 0).status()) == "makes[1]");
  CHECK(RefusalField(CheckReportInputs(1, {}, {""}, 0).status()) == "makes[0]");
  CHECK(RefusalField(CheckReportInputs(1, {}, {std::string(101, 'x')}, 0).status()) == "makes[0]");
  CHECK(CheckReportInputs(1, {}, {std::string(100, 'x')}, 0).ok());
  std::vector<std::string> many;
  for (int i = 0; i < 51; ++i) many.push_back("make " + std::to_string(i));
  CHECK(RefusalField(CheckReportInputs(1, {}, many, 0).status()) == "makes");
  many.pop_back();
  CHECK(CheckReportInputs(1, {}, many, 0).ok());
  CHECK(RefusalField(CheckReportInputs(1, {}, {}, 3).status()) == "any_class_first");

  CHECK(CheckPreviousYears({{2022, 1}, {2023, 1}, {2024, 1}}, 2025, {}).ok());
  CHECK(RefusalField(CheckPreviousYears({{2021, 1}}, 2025, {})) == "previous_sales[0].model_year");
  CHECK(RefusalField(CheckPreviousYears({{2022, 1}, {2025, 1}}, 2025, {})) ==
        "previous_sales[1].model_year");
  CHECK(CheckPreviousYears({{2023, 1}}, 2025, {{2024, 5}}).ok());
  CHECK(CheckPreviousYears({{2024, 1}}, 2025, {{2024, 5}}).code() ==
        absl::StatusCode::kInvalidArgument);

  const auto previous = PreviousSalesOf(2025, {{2024, 9000}}, {{2022, 1000}, {2024, 1}});
  REQUIRE(previous.size() == 3);
  CHECK(previous[0].model_year == 2022);
  CHECK(previous[0].ldv_sales == 1000);
  CHECK_FALSE(previous[0].recorded);
  CHECK_FALSE(previous[1].ldv_sales.has_value());
  CHECK(previous[2].ldv_sales == 9000);  // the recorded figure wins
  CHECK(previous[2].recorded);
  CHECK_FALSE(SizeBasisOf(previous).has_value());
  CHECK(SizeBasisOf(PreviousSalesOf(2025, {{2024, 9000}}, {{2022, 1000}, {2023, 5}})) == 10005);

  CHECK(CheckReportYear(2019, 2026).ok());
  CHECK(CheckReportYear(2026, 2026).ok());
  CHECK(RefusalField(CheckReportYear(2027, 2026)) == "model_year");
  CHECK(RefusalField(CheckReportYear(2018, 2026)) == "model_year");
  CHECK(RefusalField(CheckReportYear(2036, 2040)) == "model_year");
  CHECK(CheckReportYear(2035, 2040).ok());
}

// ---- the workflow ----

namespace {

using S = ReportStatus;
using A = ReportAction;
using P = ReportParty;

struct Row {
  S from;
  A action;
  P party;
  const char* role;
  S to;
};

const std::vector<Row>& ContractTable() {
  static const std::vector<Row> rows{
      {S::kDraft, A::kDelete, P::kSupplier, "ZEVA_USER", S::kDeleted},
      {S::kDraft, A::kDelete, P::kSupplier, "SIGNING_AUTHORITY", S::kDeleted},
      {S::kDraft, A::kSubmit, P::kSupplier, "SIGNING_AUTHORITY", S::kSubmitted},
      {S::kSubmitted, A::kRecommend, P::kGovernment, "ENGINEER_ANALYST", S::kRecommended},
      {S::kSubmitted, A::kReturnToSupplier, P::kGovernment, "ENGINEER_ANALYST", S::kDraft},
      {S::kRecommended, A::kReturnToAnalyst, P::kGovernment, "DIRECTOR", S::kSubmitted},
      {S::kRecommended, A::kAssess, P::kGovernment, "DIRECTOR", S::kAssessed},
  };
  return rows;
}

struct Caller {
  const char* name;
  P party;
  bool government;
  std::vector<std::string> roles;
};

}  // namespace

TEST_CASE("the model year report workflow, every (status, action, caller) triple", "[compliance]") {
  const std::vector<Caller> callers = {
      {"supplier SIGNING_AUTHORITY", P::kSupplier, false, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
      {"supplier ZEVA_USER", P::kSupplier, false, {"ZEVA_USER"}},
      {"analyst", P::kGovernment, true, {"ENGINEER_ANALYST"}},
      {"director", P::kGovernment, true, {"DIRECTOR"}},
      {"supplier with a government role", P::kSupplier, false, {"DIRECTOR"}},
      {"government with a supplier role", P::kGovernment, true, {"SIGNING_AUTHORITY"}},
      {"other supplier", P::kOther, false, {"SIGNING_AUTHORITY"}},
  };
  int allowed = 0;
  for (int s = 1; s <= 5; ++s) {
    for (int a = 1; a <= 6; ++a) {
      for (const Caller& c : callers) {
        const S status = static_cast<S>(s);
        const A action = static_cast<A>(a);
        INFO(c.name << " " << ReportActionName(action) << " from " << ReportStatusName(status));
        std::optional<S> to;
        bool named = false;
        for (const Row& row : ContractTable()) {
          const bool holds = std::find(c.roles.begin(), c.roles.end(), row.role) != c.roles.end();
          const bool government_role =
              std::string(row.role) == "DIRECTOR" || std::string(row.role) == "ENGINEER_ANALYST";
          if (row.action != action || row.party != c.party || !holds ||
              government_role != c.government) {
            continue;
          }
          named = true;
          if (row.from == status) to = row.to;
        }
        auto decided = DecideReport(status, action, c.party, c.government, c.roles);
        const auto actions = AllowedReportActions(status, c.party, c.government, c.roles);
        const bool listed = std::find(actions.begin(), actions.end(), action) != actions.end();
        if (to) {
          ++allowed;
          REQUIRE(decided.ok());
          CHECK(decided->to == *to);
          CHECK(listed);
        } else if (!named) {
          CHECK(decided.status().code() == absl::StatusCode::kPermissionDenied);
          CHECK_FALSE(listed);
        } else {
          CHECK(decided.status().code() == absl::StatusCode::kFailedPrecondition);
          CHECK(RefusalReason(decided.status()) == kReasonInvalidStatus);
          CHECK_FALSE(listed);
        }
      }
    }
  }
  CHECK(allowed == 7);  // DELETE by both supplier callers, one caller for every other row
}

TEST_CASE("who sees, creates and edits a report; events and recipients", "[compliance]") {
  for (int s = 1; s <= 5; ++s) {
    const auto status = static_cast<S>(s);
    CHECK(MaySeeReport(P::kSupplier, status));
    CHECK_FALSE(MaySeeReport(P::kOther, status));
    CHECK(MaySeeReport(P::kGovernment, status) == (status != S::kDraft && status != S::kDeleted));
  }
  CHECK(MayCreateReport(false, {"ZEVA_USER"}).ok());
  CHECK(MayCreateReport(false, {"SIGNING_AUTHORITY"}).ok());
  CHECK(MayCreateReport(true, {"DIRECTOR"}).code() == absl::StatusCode::kPermissionDenied);
  CHECK(MayEditReport(S::kDraft, P::kSupplier, false, {"ZEVA_USER"}, false, true).ok());
  CHECK(MayEditReport(S::kDraft, P::kSupplier, false, {"ZEVA_USER"}, true, true).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(MayEditReport(S::kDraft, P::kSupplier, false, {"SIGNING_AUTHORITY"}, true, true).ok());
  CHECK(MayEditReport(S::kDraft, P::kOther, false, {"SIGNING_AUTHORITY"}, false, true).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(RefusalReason(MayEditReport(S::kSubmitted, P::kSupplier, false, {"SIGNING_AUTHORITY"},
                                    false, true)) == kReasonInvalidStatus);
  CHECK(
      MayEditReport(S::kSubmitted, P::kSupplier, false, {"SIGNING_AUTHORITY"}, false, false).ok());

  CHECK(ReportCreated(7).type == "credits.model_year_report.created");
  CHECK(ReportUpdated(7).type == "credits.model_year_report.updated");
  const Event submitted = ReportTransitioned(7, A::kSubmit, 3);
  CHECK(submitted.type == "credits.model_year_report.submitted");
  CHECK(submitted.recipients.government_roles == std::vector<Role>{Role::kEngineerAnalyst});
  CHECK(ReportTransitioned(7, A::kRecommend, 3).recipients.government_roles ==
        std::vector<Role>{Role::kDirector});
  const Event returned = ReportTransitioned(7, A::kReturnToSupplier, 3);
  CHECK(returned.type == "credits.model_year_report.returned_to_supplier");
  CHECK(returned.recipients.organizations == std::vector<int64_t>{3});
  const Event assessed = ReportTransitioned(7, A::kAssess, 3);
  CHECK(assessed.type == "credits.model_year_report.assessed");
  CHECK(assessed.recipients.organizations == std::vector<int64_t>{3});
  const Event to_analyst = ReportTransitioned(7, A::kReturnToAnalyst, 3);
  CHECK(to_analyst.type == "credits.model_year_report.returned_to_analyst");
  CHECK(to_analyst.recipients.government_roles == std::vector<Role>{Role::kEngineerAnalyst});
  const Event deleted = ReportTransitioned(7, A::kDelete, 3);
  CHECK(deleted.type == "credits.model_year_report.deleted");
  CHECK(deleted.recipients.organizations.empty());
  CHECK(deleted.recipients.government_roles.empty());
  for (int a = 1; a <= 6; ++a) {
    CHECK(ReportActionNamed(ReportActionName(static_cast<A>(a))) == static_cast<A>(a));
  }
  for (int s = 1; s <= 5; ++s) {
    CHECK(ReportStatusNamed(ReportStatusName(static_cast<S>(s))) == static_cast<S>(s));
  }
}
