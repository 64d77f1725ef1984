// The credit application rules that need no database: the workflow table, who sees what,
// VINs and their check digit, records, warnings and decisions (domain/application_workflow,
// domain/sales_records, domain/vin).

#include <catch2/catch.hpp>

#include "domain/application_workflow.h"
#include "domain/refusal.h"
#include "domain/sales_records.h"
#include "domain/vin.h"

using namespace zeva::domain;
using S = ApplicationStatus;
using A = ApplicationAction;
using P = ApplicantParty;

namespace {

const std::vector<std::string> kUser = {"ZEVA_USER"};
const std::vector<std::string> kSigning = {"SIGNING_AUTHORITY"};
const std::vector<std::string> kAnalyst = {"ENGINEER_ANALYST"};
const std::vector<std::string> kDirector = {"DIRECTOR"};

absl::StatusCode CodeOf(S status, A action, P party, const std::vector<std::string>& roles) {
  return DecideApplication(status, action, party, party == P::kGovernment, roles).status().code();
}

const Date kToday{2026, 12, 6};

}  // namespace

TEST_CASE("every row of the application workflow table", "[applications]") {
  struct Row {
    S from;
    A action;
    P party;
    std::vector<std::string> roles;
    S to;
    ApplicationEffect effect;
  };
  const std::vector<Row> rows = {
      {S::kDraft, A::kDelete, P::kSupplier, kUser, S::kDeleted, ApplicationEffect::kNone},
      {S::kDraft, A::kDelete, P::kSupplier, kSigning, S::kDeleted, ApplicationEffect::kNone},
      {S::kDraft, A::kSubmit, P::kSupplier, kSigning, S::kSubmitted, ApplicationEffect::kFixValues},
      {S::kSubmitted, A::kCheck, P::kGovernment, kAnalyst, S::kChecked, ApplicationEffect::kCheck},
      {S::kChecked, A::kCheck, P::kGovernment, kAnalyst, S::kChecked, ApplicationEffect::kCheck},
      {S::kSubmitted, A::kReturnToSupplier, P::kGovernment, kAnalyst, S::kDraft,
       ApplicationEffect::kClearCheck},
      {S::kChecked, A::kReturnToSupplier, P::kGovernment, kAnalyst, S::kDraft,
       ApplicationEffect::kClearCheck},
      {S::kChecked, A::kRecommendApproval, P::kGovernment, kAnalyst, S::kRecommendedApproval,
       ApplicationEffect::kNone},
      {S::kChecked, A::kRecommendRejection, P::kGovernment, kAnalyst, S::kRecommendedRejection,
       ApplicationEffect::kNone},
      {S::kRecommendedApproval, A::kReturnToAnalyst, P::kGovernment, kDirector, S::kChecked,
       ApplicationEffect::kNone},
      {S::kRecommendedRejection, A::kReturnToAnalyst, P::kGovernment, kDirector, S::kChecked,
       ApplicationEffect::kNone},
      {S::kRecommendedApproval, A::kValidate, P::kGovernment, kDirector, S::kValidated,
       ApplicationEffect::kIssue},
      {S::kRecommendedApproval, A::kReject, P::kGovernment, kDirector, S::kRejected,
       ApplicationEffect::kNone},
      {S::kRecommendedRejection, A::kReject, P::kGovernment, kDirector, S::kRejected,
       ApplicationEffect::kNone},
  };
  for (const Row& row : rows) {
    INFO(ApplicationStatusName(row.from) << " " << ApplicationActionName(row.action));
    auto decided =
        DecideApplication(row.from, row.action, row.party, row.party == P::kGovernment, row.roles);
    REQUIRE(decided.ok());
    CHECK(decided->to == row.to);
    CHECK(decided->effect == row.effect);
  }
  CHECK(ApplicationWorkflowTable().size() == rows.size());
}

TEST_CASE("everything outside the table is refused with the contract's code", "[applications]") {
  const std::vector<std::pair<P, std::vector<std::string>>> callers = {
      {P::kSupplier, kUser},       {P::kSupplier, kSigning}, {P::kGovernment, kAnalyst},
      {P::kGovernment, kDirector}, {P::kOther, kSigning},    {P::kSupplier, kDirector},
      {P::kGovernment, kSigning}};
  int allowed = 0;
  for (int s = 1; s <= 8; ++s) {
    for (int a = 1; a <= 9; ++a) {
      for (const auto& [party, roles] : callers) {
        const auto status = static_cast<S>(s);
        const auto action = static_cast<A>(a);
        auto decided = DecideApplication(status, action, party, party == P::kGovernment, roles);
        bool in_table = false;
        bool named = false;
        for (const auto& row : ApplicationWorkflowTable()) {
          if (row.action == action && row.party == party &&
              HasRole(party == P::kGovernment, roles, row.role)) {
            named = true;
            in_table = in_table || row.from == status;
          }
        }
        INFO(s << " " << a);
        if (in_table) {
          CHECK(decided.ok());
          ++allowed;
        } else if (named) {
          CHECK(decided.status().code() == absl::StatusCode::kFailedPrecondition);
          CHECK(RefusalReason(decided.status()) == "INVALID_STATUS");
        } else {
          CHECK(decided.status().code() == absl::StatusCode::kPermissionDenied);
        }
        // allowed_actions lists exactly what Decide allows.
        const auto actions =
            AllowedApplicationActions(status, party, party == P::kGovernment, roles);
        CHECK((std::find(actions.begin(), actions.end(), action) != actions.end()) == in_table);
      }
    }
  }
  CHECK(allowed == 14);
  // Final statuses allow nothing to anyone.
  for (S final_status : {S::kValidated, S::kRejected, S::kDeleted}) {
    CHECK(AllowedApplicationActions(final_status, P::kGovernment, true, kDirector).empty());
    CHECK(AllowedApplicationActions(final_status, P::kSupplier, false, kSigning).empty());
  }
  // A ZEVA_USER may delete but not submit; another supplier may do nothing.
  CHECK(CodeOf(S::kDraft, A::kSubmit, P::kSupplier, kUser) == absl::StatusCode::kPermissionDenied);
  CHECK(CodeOf(S::kDraft, A::kDelete, P::kOther, kSigning) == absl::StatusCode::kPermissionDenied);
  CHECK(AllowedApplicationActions(S::kDraft, P::kSupplier, false, kSigning) ==
        std::vector<A>{A::kSubmit, A::kDelete});
  CHECK(AllowedApplicationActions(S::kChecked, P::kGovernment, true, kAnalyst) ==
        std::vector<A>{A::kCheck, A::kRecommendApproval, A::kRecommendRejection,
                       A::kReturnToSupplier});
}

TEST_CASE("who sees an application, and who edits records and decisions", "[applications]") {
  for (int s = 1; s <= 8; ++s) {
    const auto status = static_cast<S>(s);
    CHECK(MaySeeApplication(P::kSupplier, status));
    CHECK(MaySeeApplication(P::kGovernment, status) ==
          (status != S::kDraft && status != S::kDeleted));
    CHECK_FALSE(MaySeeApplication(P::kOther, status));
  }
  CHECK(ApplicantPartyOf(false, 3, 3) == P::kSupplier);
  CHECK(ApplicantPartyOf(false, 4, 3) == P::kOther);
  CHECK(ApplicantPartyOf(true, 1, 3) == P::kGovernment);

  CHECK(MayCreateApplication(false, kUser).ok());
  CHECK(MayCreateApplication(false, kSigning).ok());
  CHECK(MayCreateApplication(true, kAnalyst).code() == absl::StatusCode::kPermissionDenied);
  CHECK(MayEditRecords(S::kDraft, P::kSupplier, false, kUser).ok());
  CHECK(MayEditRecords(S::kSubmitted, P::kSupplier, false, kUser).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(MayEditRecords(S::kDraft, P::kGovernment, true, kAnalyst).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(MayDecide(S::kChecked, P::kGovernment, true, kAnalyst).ok());
  CHECK(MayDecide(S::kChecked, P::kGovernment, true, kDirector).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(MayDecide(S::kSubmitted, P::kGovernment, true, kAnalyst).code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(RefusalReason(MayDecide(S::kSubmitted, P::kGovernment, true, kAnalyst)) ==
        "INVALID_STATUS");
}

TEST_CASE("application events and their recipients", "[applications]") {
  CHECK(ApplicationCreated(5).type == "credits.application.created");
  CHECK(ApplicationUpdated(5).type == "credits.application.updated");
  CHECK(ApplicationCreated(5).recipients.government_roles.empty());
  struct Want {
    A action;
    const char* type;
    std::vector<Role> roles;
    bool supplier;
  };
  for (const Want& w : std::vector<Want>{
           {A::kSubmit, "credits.application.submitted", {Role::kEngineerAnalyst}, false},
           {A::kCheck, "credits.application.checked", {}, false},
           {A::kRecommendApproval,
            "credits.application.recommended_approval",
            {Role::kDirector},
            false},
           {A::kRecommendRejection,
            "credits.application.recommended_rejection",
            {Role::kDirector},
            false},
           {A::kReturnToAnalyst,
            "credits.application.returned_to_analyst",
            {Role::kEngineerAnalyst},
            false},
           {A::kReturnToSupplier, "credits.application.returned_to_supplier", {}, true},
           {A::kValidate, "credits.application.validated", {}, true},
           {A::kReject, "credits.application.rejected", {}, true},
           {A::kDelete, "credits.application.deleted", {}, false}}) {
    const Event e = ApplicationTransitioned(9, w.action, 42);
    INFO(w.type);
    CHECK(e.type == w.type);
    CHECK(e.recipients.government_roles == w.roles);
    CHECK(e.recipients.organizations ==
          (w.supplier ? std::vector<int64_t>{42} : std::vector<int64_t>{}));
    CHECK(e.message.find("Credit application 9 was") == 0);
  }
}

TEST_CASE("VINs: alphabet, normalization and the North American check digit", "[applications]") {
  CHECK(NormalizeVin("  1m8gdm9axkp042788 \t") == "1M8GDM9AXKP042788");
  // The alphabet itself is tested with ICBC's rows (icbc_file_test).
  CHECK(IsValidVin("1M8GDM9AXKP042788"));
  // The textbook examples: X written for 10, and eleven 1s (check digit 1).
  CHECK(VinCheckDigit("1M8GDM9AXKP042788") == 'X');
  CHECK(HasVinCheckDigit("1M8GDM9AXKP042788"));
  CHECK(HasVinCheckDigit("11111111111111111"));
  CHECK_FALSE(HasVinCheckDigit("1M8GDM9A1KP042788"));
  CHECK_FALSE(HasVinCheckDigit("11111111211111111"));
  // Position 9 has weight 0: whatever it holds does not change the digit.
  CHECK(VinCheckDigit("5YJ3E1EA0KF000001") == VinCheckDigit("5YJ3E1EA9KF000001"));
  CHECK_FALSE(HasVinCheckDigit("not a vin"));
}

TEST_CASE("sales records: each field, duplicates, the whole batch refused", "[applications]") {
  const NewRecordInput good{" 1m8gdm9axkp042788 ", 7, 2021, Date{2021, 5, 1}};
  auto ok = CheckNewRecords({good, {"11111111111111111", 7, 2027, kToday}}, kToday);
  REQUIRE(ok.ok());
  CHECK((*ok)[0].vin == "1M8GDM9AXKP042788");
  CHECK((*ok)[0].check_digit_ok);
  CHECK((*ok)[1].model_year == 2027);  // next year is allowed
  CHECK(RefusalField(CheckNewRecords({}, kToday).status()) == "records");
  CHECK(RefusalField(CheckNewRecords(std::vector<NewRecordInput>(1001, good), kToday).status()) ==
        "records");
  auto with = [&](auto change) {
    NewRecordInput r = good;
    change(r);
    return CheckNewRecords({{"11111111111111111", 7, 2021, Date{2021, 1, 1}}, r}, kToday).status();
  };
  CHECK(RefusalField(with([](auto& r) { r.vin = "SHORT"; })) == "records[1].vin");
  CHECK(RefusalField(with([](auto& r) { r.vin = "1M8GDM9AXKP04278O"; })) == "records[1].vin");
  CHECK(RefusalField(with([](auto& r) { r.vehicle_id = 0; })) == "records[1].vehicle_id");
  CHECK(RefusalField(with([](auto& r) { r.model_year = 2018; })) == "records[1].model_year");
  CHECK(RefusalField(with([](auto& r) { r.model_year = 2028; })) == "records[1].model_year");
  CHECK(RefusalField(with([](auto& r) {
          r.sale_date = Date{2021, 2, 29};
        })) == "records[1].sale_date");
  CHECK(RefusalField(with([](auto& r) { r.sale_date = Date{0, 0, 0}; })) == "records[1].sale_date");
  CHECK(with([](auto& r) { r.sale_date = Date{2024, 2, 29}; }).ok());  // a leap day
  CHECK(RefusalField(with([](auto& r) {
          r.sale_date = Date{2026, 12, 7};
        })) == "records[1].sale_date");  // tomorrow
  const auto twice = with([](auto& r) { r.vin = "11111111111111111 "; });
  CHECK(twice.code() == absl::StatusCode::kInvalidArgument);
  CHECK(RefusalReason(twice) == "DUPLICATE_VIN");
  CHECK(RefusalField(twice) == "records[1].vin");
}

TEST_CASE("a record's vehicle is a model of the caller's that earns credits", "[applications]") {
  const std::map<int64_t, RecordVehicle> vehicles = {
      {1, {5, "BEV", 300}}, {2, {5, "BEV", 80}}, {3, {6, "BEV", 300}}, {4, {5, "HEV", 600}}};
  auto records = CheckNewRecords({{"11111111111111111", 1, 2021, Date{2021, 1, 1}},
                                  {"1M8GDM9AXKP042788", 1, 2021, Date{2021, 1, 1}}},
                                 kToday);
  REQUIRE(records.ok());
  CHECK(CheckRecordVehicles(*records, vehicles, 5).ok());
  for (int64_t bad : {2, 3, 4, 9}) {
    (*records)[1].vehicle_id = bad;
    INFO(bad);
    CHECK(RefusalField(CheckRecordVehicles(*records, vehicles, 5)) == "records[1].vehicle_id");
  }
}

TEST_CASE("makes compare trimmed, with inner spaces collapsed, upper-cased", "[applications]") {
  CHECK(MakeKey("  Tesla   Motors ") == "TESLA MOTORS");
  CHECK(MakeKey("tesla\tmotors") == "TESLA MOTORS");
  CHECK(MakeKey("TESLA") == MakeKey("tesla"));
  CHECK(MakeKey("  ").empty());
  CHECK(MakeKey("Mercedes-Benz") != MakeKey("Mercedes Benz"));
  CHECK(Date{2018, 1, 1} < kProgramStart);
  CHECK_FALSE(Date{2018, 1, 2} < kProgramStart);
}

TEST_CASE("decisions: reasons for warnings, never an awarded VIN, all or nothing",
          "[applications]") {
  CHECK(RefusalField(CheckDecisions({}).status()) == "decisions");
  CHECK(RefusalField(CheckDecisions({{0, true, ""}}).status()) == "decisions[0].record_id");
  CHECK(RefusalField(CheckDecisions({{1, true, ""}, {1, false, ""}}).status()) ==
        "decisions[1].record_id");
  CHECK(RefusalField(CheckDecisions({{1, true, std::string(501, 'r')}}).status()) ==
        "decisions[0].reason");
  CHECK(CheckDecisions({{1, true, std::string(500, 'r')}}).ok());
  auto decisions = CheckDecisions({{1, true, ""}, {2, false, ""}, {3, true, " checked "}});
  REQUIRE(decisions.ok());
  CHECK((*decisions)[2].reason == "checked");
  std::map<int64_t, DecidedRecord> records = {
      {1, {false, false}}, {2, {true, true}}, {3, {true, false}}};
  // Excluding is free, even an awarded VIN's record; a warning needs a reason to include.
  CHECK(CheckDecisionRules(*decisions, records).ok());
  records[1].has_warnings = true;
  CHECK(RefusalField(CheckDecisionRules(*decisions, records)) == "decisions[0].reason");
  records[1] = {false, true};
  const auto awarded = CheckDecisionRules(*decisions, records);
  CHECK(awarded.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(RefusalReason(awarded) == "VIN_ALREADY_AWARDED");
}
