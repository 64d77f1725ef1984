// Annual compliance through the real server and generated clients on a real PostgreSQL: every
// row of the model year report workflow and every refusal, visibility, events and recipients,
// a deficit year followed by another, and the races that must not deduct reserved credits or
// post twice. One server per TEST_CASE; each scenario gets suppliers of its own (made with
// SQL), so that one open report per supplier and rising model years never get in the way.

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "domain/compliance_workflow.h"
#include "domain/vin.h"
#include "tests/support/ledger_client.h"
#include "tests/support/process.h"
#include "tests/support/service_fixture.h"
#include "zeva/credits/v1/applications.grpc.pb.h"
#include "zeva/credits/v1/compliance.grpc.pb.h"

using namespace zeva::testing;
using grpc::StatusCode;

namespace {

namespace wire = ::zeva::credits::v1;
constexpr char kAnalyst[] = "test_gov_1";
constexpr char kDirector[] = "test_gov_director";
constexpr char kOtherSupplier[] = "test_vs_2";

using S = wire::ModelYearReportStatus;
using A = wire::ModelYearReportAction;

struct Answer {
  grpc::Status status;
  wire::ModelYearReport report;
};

// A supplier made for one scenario: `<name>_sa` (SIGNING_AUTHORITY, ZEVA_USER) and
// `<name>_user` (ZEVA_USER).
struct Supplier {
  uint64_t id = 0;
  std::string sa;
  std::string user;
};

// What a report's update sets.
struct Fields {
  uint64_t ldv_sales = 1000;
  std::vector<std::pair<uint32_t, uint64_t>> previous;  // (model year, LDV sales)
  std::vector<std::string> makes = {"Tesla"};
  wire::CreditClass first = wire::CREDIT_CLASS_UNSPECIFIED;
  bool attested = true;
};

std::string Cents(int64_t hundredths) { return std::to_string(hundredths); }

struct Desk {
  ServiceFixture service{{"--db-pool-caller-share-percent=100", "--db-acquire-timeout-ms=10000"}};
  LedgerClient ledger{service};
  uint64_t gov = OrganizationId(service.database_url(), "Government of British Columbia");
  std::atomic<int> keys{0};
  int suppliers = 0;

  std::string db() { return service.database_url(); }
  std::string Key() { return "key-" + std::to_string(++keys); }
  std::unique_ptr<wire::ComplianceService::Stub> Stub() {
    return wire::ComplianceService::NewStub(service.channel());
  }

  Supplier NewSupplier() {
    const std::string name = "comp_" + std::to_string(++suppliers);
    Supplier s;
    s.id = std::stoull(Sql(db(), "INSERT INTO organizations (name, organization_type) VALUES ('" +
                                     name + " Motors', 'VEHICLE_SUPPLIER') RETURNING id"));
    s.sa = name + "_sa";
    s.user = name + "_user";
    Sql(db(), "INSERT INTO users (username, organization_id, email) VALUES ('" + s.sa + "', " +
                  std::to_string(s.id) + ", '" + s.sa + "@example.test'), ('" + s.user + "', " +
                  std::to_string(s.id) + ", '" + s.user +
                  "@example.test'); INSERT INTO user_roles (username, role) VALUES ('" + s.sa +
                  "', 'SIGNING_AUTHORITY'), ('" + s.sa + "', 'ZEVA_USER'), ('" + s.user +
                  "', 'ZEVA_USER')");
    return s;
  }

  Answer Create(const std::string& user, uint32_t year, const std::string& key = "") {
    wire::CreateModelYearReportRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_model_year(year);
    Answer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->CreateModelYearReport(context.get(), request, &answer.report);
    return answer;
  }

  Answer Update(const std::string& user, uint64_t id, const Fields& f,
                uint32_t expected_version = 0, const std::string& key = "") {
    wire::UpdateModelYearReportRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_report_id(id);
    request.set_expected_version(expected_version);
    request.set_ldv_sales(f.ldv_sales);
    for (const auto& [year, sales] : f.previous) {
      auto* p = request.add_previous_sales();
      p->set_model_year(year);
      p->set_ldv_sales(sales);
    }
    for (const std::string& make : f.makes) request.add_makes(make);
    request.set_any_class_first(f.first);
    request.set_attested(f.attested);
    Answer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->UpdateModelYearReport(context.get(), request, &answer.report);
    return answer;
  }

  Answer Act(const std::string& user, uint64_t id, A action, uint32_t expected_version = 0,
             const std::string& key = "") {
    wire::TransitionModelYearReportRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_report_id(id);
    request.set_action(action);
    request.set_expected_version(expected_version);
    request.set_comment(std::string("by ") + user);
    Answer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->TransitionModelYearReport(context.get(), request, &answer.report);
    return answer;
  }

  Answer Get(const std::string& user, uint64_t id) {
    wire::GetModelYearReportRequest request;
    request.set_report_id(id);
    Answer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->GetModelYearReport(context.get(), request, &answer.report);
    return answer;
  }

  grpc::Status List(const std::string& user, const wire::ListModelYearReportsRequest& request,
                    std::vector<uint64_t>* ids) {
    auto context = service.ContextFor(user);
    auto reader = Stub()->ListModelYearReports(context.get(), request);
    wire::ModelYearReport r;
    while (reader->Read(&r)) ids->push_back(r.id());
    return reader->Finish();
  }

  grpc::Status Deficits(const std::string& user, uint64_t organization,
                        wire::GetDeficitsResponse* out) {
    wire::GetDeficitsRequest request;
    request.set_organization_id(organization);
    auto context = service.ContextFor(user);
    return Stub()->GetDeficits(context.get(), request, out);
  }

  // "2024 CLASS_A 40000, 2024 ANY_CLASS 17500" for the organization's outstanding deficits.
  std::string DeficitText(uint64_t organization) {
    wire::GetDeficitsResponse response;
    REQUIRE(Deficits(kAnalyst, organization, &response).ok());
    std::string out;
    for (const auto& d : response.deficits()) {
      if (!out.empty()) out += ", ";
      out += std::to_string(d.model_year()) + " " + wire::ObligationPart_Name(d.part()) + " " +
             std::to_string(d.amount().hundredths());
    }
    return out;
  }

  void Step(const std::string& user, uint64_t id, A action) {
    auto answer = Act(user, id, action);
    INFO(user << " " << wire::ModelYearReportAction_Name(action) << ": "
              << answer.status.error_message());
    REQUIRE(answer.status.ok());
  }

  // A report of `s` for `year`, filled in (three previous years of `each` LDVs) and driven
  // along the table to `status`.
  uint64_t InStatus(const Supplier& s, S status, uint32_t year = 2024, uint64_t each = 100,
                    uint64_t ldv_sales = 1000) {
    auto created = Create(s.sa, year);
    INFO(created.status.error_message());
    REQUIRE(created.status.ok());
    const uint64_t id = created.report.id();
    Fields f;
    f.ldv_sales = ldv_sales;
    f.previous = {{year - 3, each}, {year - 2, each}, {year - 1, each}};
    auto updated = Update(s.sa, id, f);
    INFO(updated.status.error_message());
    REQUIRE(updated.status.ok());
    if (status == S::MODEL_YEAR_REPORT_STATUS_DRAFT) return id;
    if (status == S::MODEL_YEAR_REPORT_STATUS_DELETED) {
      Step(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_DELETE);
      return id;
    }
    Step(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT);
    if (status == S::MODEL_YEAR_REPORT_STATUS_SUBMITTED) return id;
    Step(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);
    if (status == S::MODEL_YEAR_REPORT_STATUS_RECOMMENDED) return id;
    Step(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS);
    return id;
  }

  // Credits for `organization` by an adjustment (the director's).
  void Give(uint64_t organization, uint32_t year, credits::CreditClass c, int64_t hundredths) {
    auto adjusted = ledger.AdjustOne(Key(), organization, year, c, hundredths);
    INFO(adjusted.status.error_message());
    REQUIRE(adjusted.status.ok());
  }

  // "2023 A 30000 0" per key with posted or reserved: posted, reserved.
  std::string BalanceText(uint64_t organization) {
    credits::GetBalancesResponse balances;
    REQUIRE(ledger.Balances(kAnalyst, organization, &balances).ok());
    std::string out;
    for (const auto& b : balances.balances()) {
      if (!out.empty()) out += ", ";
      out +=
          std::to_string(b.model_year()) + " " +
          (b.credit_class() == credits::CREDIT_CLASS_A ? "A " : "B ") +
          std::to_string(b.posted().hundredths()) +
          (b.reserved().hundredths() != 0 ? " reserved " + Cents(b.reserved().hundredths()) : "");
    }
    return out;
  }

  // Usernames notified of `event_type` about report `id`, comma-separated, sorted.
  std::string Notified(uint64_t id, const std::string& event_type) {
    return Sql(db(),
               "SELECT coalesce(string_agg(username, ',' ORDER BY username), '') FROM "
               "notifications WHERE model_year_report_id = " +
                   std::to_string(id) + " AND event_type = '" + event_type + "'");
  }
};

std::vector<int> Actions(const wire::ModelYearReport& r) {
  return {r.allowed_actions().begin(), r.allowed_actions().end()};
}

}  // namespace

TEST_CASE("model year reports: every row of the workflow, its refusals, events and recipients",
          "[compliance]") {
  Desk d;
  const Supplier s = d.NewSupplier();
  const Supplier other = d.NewSupplier();

  // Every signed-in user reads the ratios: the contract's table.
  {
    wire::GetComplianceRatiosResponse ratios;
    auto context = d.service.ContextFor(s.user);
    REQUIRE(d.Stub()->GetComplianceRatios(context.get(), {}, &ratios).ok());
    REQUIRE(ratios.ratios_size() == 17);
    CHECK(ratios.ratios(0).model_year() == 2019);
    CHECK(ratios.ratios(7).total_basis_points() == 2630);
    CHECK(ratios.ratios(7).class_a_basis_points() == 1520);
    CHECK(ratios.ratios(16).class_a_basis_points() == 7500);
  }

  // Creation: the model year's range, the roles, then one open report and one per year.
  CHECK(d.Create(s.sa, 2018).status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(d.Create(s.sa, 2036).status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(d.Create(s.sa, 2040).status.error_code() == StatusCode::INVALID_ARGUMENT);  // after now
  auto by_government = d.Create(kAnalyst, 2024);
  CHECK(by_government.status.error_code() == StatusCode::PERMISSION_DENIED);
  auto created = d.Create(s.user, 2024, "create-2024");
  INFO(created.status.error_message() << d.service.server().Log());
  REQUIRE(created.status.ok());
  const uint64_t id = created.report.id();
  const wire::ModelYearReport& draft = created.report;
  CHECK(draft.status() == S::MODEL_YEAR_REPORT_STATUS_DRAFT);
  CHECK(draft.version() == 1);
  CHECK(draft.model_year() == 2024);
  CHECK(draft.organization_id() == s.id);
  CHECK_FALSE(draft.has_obligation());  // previous years missing
  CHECK_FALSE(draft.has_outcome());
  REQUIRE(draft.history_size() == 1);
  CHECK(draft.history(0).action() == A::MODEL_YEAR_REPORT_ACTION_UNSPECIFIED);
  CHECK(draft.history(0).to_status() == S::MODEL_YEAR_REPORT_STATUS_DRAFT);
  CHECK(Actions(draft) == std::vector<int>{A::MODEL_YEAR_REPORT_ACTION_DELETE});
  CHECK(Actions(d.Get(s.sa, id).report) ==
        std::vector<int>{A::MODEL_YEAR_REPORT_ACTION_SUBMIT, A::MODEL_YEAR_REPORT_ACTION_DELETE});
  // A replay returns the same report; the key for another request is refused.
  CHECK(d.Create(s.user, 2024, "create-2024").report.id() == id);
  auto reused = d.Create(s.user, 2023, "create-2024");
  CHECK(reused.status.error_code() == StatusCode::ALREADY_EXISTS);
  CHECK(ErrorReason(reused.status) == "IDEMPOTENCY_KEY_REUSED");
  // PREVIOUS_REPORT_OPEN comes before REPORT_EXISTS.
  for (uint32_t year : {2023u, 2024u, 2025u}) {
    auto second = d.Create(s.sa, year);
    CHECK(second.status.error_code() == StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(second.status) == "PREVIOUS_REPORT_OPEN");
  }

  // Visibility of a DRAFT: the supplier only.
  CHECK(d.Get(s.user, id).status.ok());
  for (const char* user : {kAnalyst, kDirector, kOtherSupplier}) {
    CHECK(d.Get(user, id).status.error_code() == StatusCode::NOT_FOUND);
  }
  CHECK(d.Get(other.sa, id).status.error_code() == StatusCode::NOT_FOUND);

  // Update: refusals in the contract's order, then the preview.
  Fields f;
  f.ldv_sales = 5000;
  f.previous = {{2021, 5000}, {2022, 5000}};
  f.makes = {"Tesla", "Kia"};
  f.attested = false;
  auto stranger = d.Update(other.sa, id, f);
  CHECK(stranger.status.error_code() == StatusCode::NOT_FOUND);
  Fields attested_by_user = f;
  attested_by_user.attested = true;
  auto not_signing = d.Update(s.user, id, attested_by_user);
  CHECK(not_signing.status.error_code() == StatusCode::PERMISSION_DENIED);
  Fields wrong_year = f;
  wrong_year.previous = {{2020, 5000}};
  auto out_of_range = d.Update(s.user, id, wrong_year);
  CHECK(out_of_range.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorField(out_of_range.status) == "previous_sales[0].model_year");
  Fields too_many = f;
  too_many.ldv_sales = 1000000001;
  CHECK(ErrorField(d.Update(s.user, id, too_many).status) == "ldv_sales");
  Fields same_make = f;
  same_make.makes = {"Tesla", " TESLA "};
  CHECK(ErrorField(d.Update(s.user, id, same_make).status) == "makes[1]");
  auto stale = d.Update(s.user, id, f, 7);
  CHECK(stale.status.error_code() == StatusCode::ABORTED);
  CHECK(ErrorReason(stale.status) == "VERSION_MISMATCH");
  auto updated = d.Update(s.user, id, f, 1);
  INFO(updated.status.error_message());
  REQUIRE(updated.status.ok());
  CHECK(updated.report.version() == 2);
  CHECK(updated.report.history_size() == 1);  // updates bump the version only
  CHECK(updated.report.makes_size() == 2);
  CHECK(updated.report.previous_sales_size() == 2);
  CHECK_FALSE(updated.report.has_obligation());  // 2023 still missing

  // SUBMIT: only the SIGNING_AUTHORITY; MISSING_PREVIOUS_SALES before NOT_ATTESTED.
  CHECK(d.Act(s.user, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  auto missing = d.Act(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT);
  CHECK(missing.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(missing.status) == "MISSING_PREVIOUS_SALES");
  f.previous.emplace_back(2023, 5000);
  auto complete = d.Update(s.user, id, f);
  REQUIRE(complete.status.ok());
  // Large (15,000), 2024, 5,000 LDVs: 975.00 / 700.00 / 275.00, no credits: all deficit.
  REQUIRE(complete.report.has_obligation());
  const wire::Obligation& o = complete.report.obligation();
  CHECK(o.supplier_size() == wire::SUPPLIER_SIZE_LARGE);
  CHECK(o.size_basis() == 15000);
  CHECK(o.ratio().model_year() == 2024);
  CHECK(o.total().hundredths() == 97500);
  CHECK(o.class_a().hundredths() == 70000);
  CHECK(o.any_class().hundredths() == 27500);
  REQUIRE(complete.report.has_outcome());
  CHECK_FALSE(complete.report.outcome().compliant());
  CHECK(complete.report.outcome().deficits_size() == 2);
  auto unattested = d.Act(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT);
  CHECK(ErrorReason(unattested.status) == "NOT_ATTESTED");
  f.attested = true;
  REQUIRE(d.Update(s.sa, id, f).status.ok());
  // The preview follows the balances: credits given now show up in the outcome.
  d.Give(s.id, 2023, credits::CREDIT_CLASS_A, 80000);
  d.Give(s.id, 2022, credits::CREDIT_CLASS_B, 30000);
  const wire::ModelYearReport preview = d.Get(s.sa, id).report;
  CHECK(preview.outcome().compliant());
  CHECK(preview.outcome().deductions_size() == 2);
  auto submitted = d.Act(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT);
  INFO(submitted.status.error_message());
  REQUIRE(submitted.status.ok());
  CHECK(submitted.report.status() == S::MODEL_YEAR_REPORT_STATUS_SUBMITTED);
  CHECK(d.Notified(id, "credits.model_year_report.submitted") == kAnalyst);
  CHECK(d.Update(s.sa, id, f).status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(d.Update(s.sa, id, f).status) == "INVALID_STATUS");
  for (const char* user : {kAnalyst, kDirector}) CHECK(d.Get(user, id).status.ok());
  CHECK(d.Get(other.sa, id).status.error_code() == StatusCode::NOT_FOUND);
  CHECK(Actions(d.Get(kAnalyst, id).report) ==
        std::vector<int>{A::MODEL_YEAR_REPORT_ACTION_RECOMMEND,
                         A::MODEL_YEAR_REPORT_ACTION_RETURN_TO_SUPPLIER});
  CHECK(Actions(d.Get(kDirector, id).report).empty());

  // RETURN_TO_SUPPLIER clears `attested`; the analyst gets the DRAFT back, with no actions.
  auto returned = d.Act(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_RETURN_TO_SUPPLIER);
  REQUIRE(returned.status.ok());
  CHECK(returned.report.status() == S::MODEL_YEAR_REPORT_STATUS_DRAFT);
  CHECK_FALSE(returned.report.attested());
  CHECK(Actions(returned.report).empty());
  CHECK(d.Get(kAnalyst, id).status.error_code() == StatusCode::NOT_FOUND);
  CHECK(d.Notified(id, "credits.model_year_report.returned_to_supplier") == s.sa + "," + s.user);
  CHECK(ErrorReason(d.Act(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT).status) == "NOT_ATTESTED");
  REQUIRE(d.Update(s.sa, id, f).status.ok());
  d.Step(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT);

  // RECOMMEND waits for the supplier's pending applications with a record of the year.
  const std::string vehicle =
      Sql(d.db(),
          "INSERT INTO vehicles (organization_id, type, make, model, \"trim\", range, "
          "credits) VALUES (" +
              std::to_string(s.id) + ", 'BEV', 'Tesla', 'M', 'T', 300, 2.36) RETURNING id");
  const std::string application =
      Sql(d.db(),
          "INSERT INTO credit_applications (organization_id, status, record_count) "
          "VALUES (" +
              std::to_string(s.id) + ", 'CHECKED', 1) RETURNING id");
  Sql(d.db(),
      "INSERT INTO credit_application_records (application_id, vin, vehicle_id, "
      "model_year, sale_date, check_digit_ok) VALUES (" +
          application + ", '5YJ3E1EA0KF000001', " + vehicle + ", 2024, '2024-05-01', true)");
  auto pending = d.Act(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);
  CHECK(pending.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(pending.status) == "PENDING_APPLICATIONS");
  CHECK(ErrorMetadata(pending.status, "application_ids") == application);
  // Its records show in the report as pending ZEV sales of the year.
  const wire::ModelYearReport with_sales = d.Get(kAnalyst, id).report;
  REQUIRE(with_sales.zev_sales_size() == 1);
  CHECK(with_sales.zev_sales(0).pending() == 1);
  CHECK(with_sales.zev_sales(0).validated() == 0);
  CHECK(with_sales.zev_sales(0).credit_class() == wire::CREDIT_CLASS_A);
  Sql(d.db(), "UPDATE credit_applications SET status = 'REJECTED' WHERE id = " + application);
  auto recommended = d.Act(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);
  INFO(recommended.status.error_message());
  REQUIRE(recommended.status.ok());
  CHECK(recommended.report.status() == S::MODEL_YEAR_REPORT_STATUS_RECOMMENDED);
  CHECK(d.Notified(id, "credits.model_year_report.recommended") == kDirector);
  CHECK(Actions(d.Get(kDirector, id).report) ==
        std::vector<int>{A::MODEL_YEAR_REPORT_ACTION_RETURN_TO_ANALYST,
                         A::MODEL_YEAR_REPORT_ACTION_ASSESS});

  // RETURN_TO_ANALYST, then RECOMMEND again.
  auto back = d.Act(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_RETURN_TO_ANALYST);
  REQUIRE(back.status.ok());
  CHECK(back.report.status() == S::MODEL_YEAR_REPORT_STATUS_SUBMITTED);
  CHECK(d.Notified(id, "credits.model_year_report.returned_to_analyst") == kAnalyst);
  d.Step(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);

  // ASSESS: the director only, at the current version; posts what the preview said.
  CHECK(d.Act(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  const wire::ModelYearReport before = d.Get(kDirector, id).report;
  CHECK(d.Act(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS, before.version() - 1)
            .status.error_code() == StatusCode::ABORTED);
  auto assessed = d.Act(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS, before.version());
  INFO(assessed.status.error_message());
  REQUIRE(assessed.status.ok());
  const wire::ModelYearReport& done = assessed.report;
  CHECK(done.status() == S::MODEL_YEAR_REPORT_STATUS_ASSESSED);
  CHECK(done.outcome().SerializeAsString() == before.outcome().SerializeAsString());
  CHECK(done.outcome().compliant());
  CHECK(done.journal_id() != 0);
  CHECK(Actions(done).empty());
  // 700.00 of class A from 2023 A; 275.00 any class, B first: 2022 B 300.00.
  CHECK(d.BalanceText(s.id) == "2022 B 2500, 2023 A 10000");
  CHECK(d.DeficitText(s.id).empty());
  auto journal = d.ledger.Journal(s.sa, done.journal_id());
  REQUIRE(journal.status.ok());
  CHECK(journal.journal.kind() == credits::JOURNAL_KIND_REDUCTION);
  CHECK(journal.journal.reference() == "model-year-report/" + std::to_string(id));
  CHECK(journal.journal.model_year_report_id() == id);
  CHECK(journal.journal.entries_size() == 2);  // the supplier's only
  CHECK(d.ledger.Journal(kDirector, done.journal_id()).journal.entries_size() == 4);
  CHECK(Sql(d.db(), "SELECT string_agg(event_type, ',') FROM outbox_events WHERE journal_id = " +
                        std::to_string(done.journal_id())) == "credits.model_year_report.assessed");
  CHECK(Sql(d.db(), "SELECT model_year_report_id FROM outbox_events WHERE journal_id = " +
                        std::to_string(done.journal_id())) == std::to_string(id));
  CHECK(d.Notified(id, "credits.model_year_report.assessed") == s.sa + "," + s.user);
  CHECK(Sql(d.db(), "SELECT ldv_sales FROM compliance_recorded_sales WHERE report_id = " +
                        std::to_string(id)) == "5000");
  // Creations, updates and deletions notify nobody; every change has its event.
  CHECK(d.Notified(id, "credits.model_year_report.created").empty());
  CHECK(d.Notified(id, "credits.model_year_report.updated").empty());
  CHECK(Sql(d.db(), "SELECT count(*) FROM outbox_events WHERE model_year_report_id = " +
                        std::to_string(id) +
                        " AND event_type = 'credits.model_year_report.created'") == "1");
  // Final: nothing more; a REDUCTION is never reversed.
  CHECK(ErrorReason(d.Act(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS).status) ==
        "INVALID_STATUS");
  credits::ReverseJournalRequest reverse;
  reverse.set_idempotency_key(d.Key());
  reverse.set_journal_id(done.journal_id());
  reverse.set_reason("undo");
  auto reversed = d.ledger.Reverse(kDirector, reverse);
  CHECK(reversed.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(reversed.status) == "NOT_REVERSIBLE");

  // After an assessment: earlier years REPORT_EXISTS; DELETE of a DRAFT frees its year.
  for (uint32_t year : {2023u, 2024u}) {
    CHECK(ErrorReason(d.Create(s.sa, year).status) == "REPORT_EXISTS");
  }
  auto next = d.Create(s.sa, 2025);
  REQUIRE(next.status.ok());
  // The recorded year is read-only, and shown as recorded.
  Fields next_fields;
  next_fields.previous = {{2024, 1}};
  CHECK(ErrorField(d.Update(s.sa, next.report.id(), next_fields).status) ==
        "previous_sales[0].model_year");
  const wire::ModelYearReport next_report = d.Get(s.sa, next.report.id()).report;
  REQUIRE(next_report.previous_sales_size() == 1);
  CHECK(next_report.previous_sales(0).model_year() == 2024);
  CHECK(next_report.previous_sales(0).recorded());
  CHECK(next_report.previous_sales(0).ldv_sales() == 5000);
  auto deleted = d.Act(s.user, next.report.id(), A::MODEL_YEAR_REPORT_ACTION_DELETE);
  REQUIRE(deleted.status.ok());
  CHECK(deleted.report.status() == S::MODEL_YEAR_REPORT_STATUS_DELETED);
  CHECK(d.Notified(next.report.id(), "credits.model_year_report.deleted").empty());
  CHECK(d.Get(kDirector, next.report.id()).status.error_code() == StatusCode::NOT_FOUND);
  auto again = d.Create(s.sa, 2025);
  INFO(again.status.error_message());
  CHECK(again.status.ok());

  // Listing: by id, the caller's own (suppliers), DELETED only when asked.
  std::vector<uint64_t> ids;
  REQUIRE(d.List(s.user, {}, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{id, again.report.id()});
  wire::ListModelYearReportsRequest deleted_only;
  deleted_only.add_statuses(S::MODEL_YEAR_REPORT_STATUS_DELETED);
  ids.clear();
  REQUIRE(d.List(s.user, deleted_only, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{next.report.id()});
  ids.clear();
  REQUIRE(d.List(other.sa, {}, &ids).ok());
  CHECK(ids.empty());
  wire::ListModelYearReportsRequest theirs;
  theirs.set_organization_id(s.id);
  CHECK(d.List(other.sa, theirs, &ids).error_code() == StatusCode::PERMISSION_DENIED);
  ids.clear();
  REQUIRE(d.List(kAnalyst, theirs, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{id});  // government: no DRAFT
  wire::ListModelYearReportsRequest by_year;
  by_year.set_model_year(2025);
  ids.clear();
  REQUIRE(d.List(s.sa, by_year, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{again.report.id()});
  by_year.set_model_year(4000000000u);
  ids.clear();
  REQUIRE(d.List(s.sa, by_year, &ids).ok());
  CHECK(ids.empty());

  // GetDeficits: a supplier its own only; government any organization that exists.
  wire::GetDeficitsResponse deficits;
  CHECK(d.Deficits(s.sa, 0, &deficits).ok());
  CHECK(deficits.organization_id() == s.id);
  CHECK(d.Deficits(s.sa, other.id, &deficits).error_code() == StatusCode::PERMISSION_DENIED);
  CHECK(d.Deficits(kDirector, other.id, &deficits).ok());
  CHECK(d.Deficits(kDirector, 999999, &deficits).error_code() == StatusCode::NOT_FOUND);
  CHECK(LedgerViolations(d.db()).empty());
}

TEST_CASE("model year reports: a replay answers with the stored response after later changes",
          "[compliance]") {
  Desk d;
  const Supplier s = d.NewSupplier();
  const std::string footprint_sql =
      "SELECT (SELECT string_agg(version::text, ',' ORDER BY id) FROM model_year_reports) || "
      "'/' || (SELECT count(*) FROM model_year_report_history) || '/' || "
      "(SELECT count(*) FROM outbox_events) || '/' || (SELECT count(*) FROM credit_journals)";
  auto created = d.Create(s.sa, 2024, "myr-create");
  REQUIRE(created.status.ok());
  const uint64_t id = created.report.id();
  Fields f;
  f.previous = {{2021, 100}, {2022, 100}, {2023, 100}};
  auto updated = d.Update(s.sa, id, f, 0, "myr-update");
  INFO(updated.status.error_message());
  REQUIRE(updated.status.ok());
  auto submitted = d.Act(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT, 0, "myr-submit");
  REQUIRE(submitted.status.ok());
  // A later change of the same report.
  d.Step(kAnalyst, id, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);
  const std::string footprint = Sql(d.db(), footprint_sql);

  auto create_again = d.Create(s.sa, 2024, "myr-create");
  REQUIRE(create_again.status.ok());
  CHECK(create_again.report.status() == S::MODEL_YEAR_REPORT_STATUS_DRAFT);
  CHECK(WireBytes(create_again.report) == WireBytes(created.report));
  CHECK(WireBytes(d.Update(s.sa, id, f, 0, "myr-update").report) == WireBytes(updated.report));
  auto submit_again = d.Act(s.sa, id, A::MODEL_YEAR_REPORT_ACTION_SUBMIT, 0, "myr-submit");
  REQUIRE(submit_again.status.ok());
  CHECK(submit_again.report.status() == S::MODEL_YEAR_REPORT_STATUS_SUBMITTED);
  CHECK(WireBytes(submit_again.report) == WireBytes(submitted.report));
  // The replays changed nothing.
  CHECK(Sql(d.db(), footprint_sql) == footprint);
  CHECK(d.Get(s.sa, id).report.status() == S::MODEL_YEAR_REPORT_STATUS_RECOMMENDED);
}

TEST_CASE("model year reports: every (status, action, caller) outside the table is refused",
          "[compliance]") {
  Desk d;
  const Supplier other = d.NewSupplier();
  struct Who {
    std::string user;
    bool government;
    bool owner;
    std::vector<std::string> roles;
  };
  int refused = 0;
  for (int st = 1; st <= 5; ++st) {
    const Supplier s = d.NewSupplier();
    const auto status = static_cast<S>(st);
    const uint64_t id = d.InStatus(s, status);
    const std::vector<Who> callers = {{s.sa, false, true, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
                                      {s.user, false, true, {"ZEVA_USER"}},
                                      {other.sa, false, false, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
                                      {kAnalyst, true, false, {"ENGINEER_ANALYST"}},
                                      {kDirector, true, false, {"DIRECTOR"}}};
    const std::string before =
        Sql(d.db(), "SELECT status || '/' || version FROM model_year_reports WHERE id = " +
                        std::to_string(id));
    for (int a = 1; a <= 6; ++a) {
      for (const Who& who : callers) {
        const auto party = zeva::domain::ApplicantPartyOf(who.government, who.owner ? 1 : 2, 1);
        const auto domain_status = static_cast<zeva::domain::ReportStatus>(st);
        StatusCode expected = StatusCode::OK;
        if (!zeva::domain::MaySeeReport(party, domain_status)) {
          expected = StatusCode::NOT_FOUND;
        } else {
          auto decided =
              zeva::domain::DecideReport(domain_status, static_cast<zeva::domain::ReportAction>(a),
                                         party, who.government, who.roles);
          if (decided.ok()) continue;  // allowed: done by the test of its row
          expected = static_cast<StatusCode>(decided.status().code());
        }
        auto answer = d.Act(who.user, id, static_cast<A>(a));
        INFO(who.user << " " << wire::ModelYearReportAction_Name(a) << " on "
                      << wire::ModelYearReportStatus_Name(st) << ": "
                      << answer.status.error_message());
        CHECK(answer.status.error_code() == expected);
        if (expected == StatusCode::FAILED_PRECONDITION) {
          CHECK(ErrorReason(answer.status) == "INVALID_STATUS");
        }
        ++refused;
      }
    }
    CHECK(Sql(d.db(), "SELECT status || '/' || version FROM model_year_reports WHERE id = " +
                          std::to_string(id)) == before);
    // Updates outside DRAFT, or by anyone but the supplier, are refused too.
    Fields f;
    f.previous = {{2021, 1}, {2022, 1}, {2023, 1}};
    for (const Who& who : callers) {
      auto update = d.Update(who.user, id, f);
      if (who.owner && status == S::MODEL_YEAR_REPORT_STATUS_DRAFT) {
        CHECK(update.status.error_code() ==
              (who.user == s.user ? StatusCode::PERMISSION_DENIED : StatusCode::OK));  // attests
        continue;
      }
      const bool sees = zeva::domain::MaySeeReport(
          zeva::domain::ApplicantPartyOf(who.government, who.owner ? 1 : 2, 1),
          static_cast<zeva::domain::ReportStatus>(st));
      INFO(who.user << " updates in " << wire::ModelYearReportStatus_Name(st));
      CHECK(update.status.error_code() ==
            (!sees ? StatusCode::NOT_FOUND
                   : (who.owner && who.user == s.sa ? StatusCode::FAILED_PRECONDITION
                                                    : StatusCode::PERMISSION_DENIED)));
    }
  }
  WARN(refused << " refused (status, action, caller) triples tried through the server");
  auto unspecified = d.Act(kAnalyst, 1, A::MODEL_YEAR_REPORT_ACTION_UNSPECIFIED);
  CHECK(unspecified.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(d.Act(kAnalyst, 987654, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND).status.error_code() ==
        StatusCode::NOT_FOUND);
  // An id no bigint holds names nothing, like any other; health covers the new service.
  auto beyond = d.Get(kAnalyst, UINT64_MAX);
  CHECK(beyond.status.error_code() == StatusCode::NOT_FOUND);
  CHECK(ErrorField(beyond.status) == "report_id");
  CHECK(d.service.server().Health("zeva.credits.v1.ComplianceService") == "SERVING");
  CHECK(LedgerViolations(d.db()).empty());
}

TEST_CASE("a deficit year followed by another: old deficits first, years kept, the penalty",
          "[compliance]") {
  Desk d;
  const Supplier s = d.NewSupplier();
  // 2024: large (3 x 5,000), 5,000 LDVs: class A 700.00, any class 275.00.
  d.Give(s.id, 2023, credits::CREDIT_CLASS_A, 30000);
  d.Give(s.id, 2023, credits::CREDIT_CLASS_B, 10000);
  const uint64_t first = d.InStatus(s, S::MODEL_YEAR_REPORT_STATUS_ASSESSED, 2024, 5000, 5000);
  const wire::ModelYearReport y2024 = d.Get(s.sa, first).report;
  CHECK_FALSE(y2024.outcome().compliant());
  CHECK(y2024.outcome().penalty_cents() == 0);  // no earlier deficit year
  CHECK(d.DeficitText(s.id) ==
        "2024 OBLIGATION_PART_CLASS_A 40000, 2024 OBLIGATION_PART_ANY_CLASS 17500");
  CHECK(d.BalanceText(s.id).empty());

  // New credits alone pay nothing: the deficits stay until the next assessment.
  d.Give(s.id, 2024, credits::CREDIT_CLASS_A, 50000);
  CHECK(d.DeficitText(s.id) ==
        "2024 OBLIGATION_PART_CLASS_A 40000, 2024 OBLIGATION_PART_ANY_CLASS 17500");
  CHECK(d.BalanceText(s.id) == "2024 A 50000");

  // 2025: 1,000 LDVs: class A 160.00, any class 60.00. Class A: 2024's 400.00 first (from
  // 2024 A), then 100.00 of 2025's; any class has nothing left. What is unpaid keeps its year.
  auto created = d.Create(s.sa, 2025);
  REQUIRE(created.status.ok());
  const uint64_t second = created.report.id();
  Fields f;
  f.ldv_sales = 1000;
  f.previous = {{2022, 5000}, {2023, 5000}};
  REQUIRE(d.Update(s.sa, second, f).status.ok());
  d.Step(s.sa, second, A::MODEL_YEAR_REPORT_ACTION_SUBMIT);
  d.Step(kAnalyst, second, A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);
  const wire::ModelYearReport preview = d.Get(kDirector, second).report;
  REQUIRE(preview.outcome().deductions_size() == 2);
  CHECK(preview.outcome().deductions(0).debit_model_year() == 2024);
  CHECK(preview.outcome().deductions(0).amount().hundredths() == 40000);
  CHECK(preview.outcome().deductions(1).debit_model_year() == 2025);
  CHECK(preview.outcome().deductions(1).amount().hundredths() == 10000);
  // Penalty: 175.00 x $5,000 + 60.00 x $5,000 + 60.00 x $5,000 = $1,475,000.
  CHECK(preview.outcome().penalty_cents() == 147500000);
  auto assessed = d.Act(kDirector, second, A::MODEL_YEAR_REPORT_ACTION_ASSESS);
  INFO(assessed.status.error_message());
  REQUIRE(assessed.status.ok());
  CHECK(assessed.report.outcome().SerializeAsString() == preview.outcome().SerializeAsString());
  CHECK(d.DeficitText(s.id) ==
        "2024 OBLIGATION_PART_ANY_CLASS 17500, 2025 OBLIGATION_PART_CLASS_A 6000, "
        "2025 OBLIGATION_PART_ANY_CLASS 6000");
  CHECK(d.BalanceText(s.id).empty());
  CHECK(LedgerViolations(d.db()).empty());

  // A year with nothing deducted posts no journal, and the deficits stay as they were.
  auto third = d.Create(s.sa, 2026);
  REQUIRE(third.status.ok());
  Fields small;
  small.ldv_sales = 10;
  small.previous = {{2023, 1}};  // 2024, 2025 recorded: 5,000 + 1,000 + 1 -> medium
  REQUIRE(d.Update(s.sa, third.report.id(), small).status.ok());
  d.Step(s.sa, third.report.id(), A::MODEL_YEAR_REPORT_ACTION_SUBMIT);
  d.Step(kAnalyst, third.report.id(), A::MODEL_YEAR_REPORT_ACTION_RECOMMEND);
  auto nothing = d.Act(kDirector, third.report.id(), A::MODEL_YEAR_REPORT_ACTION_ASSESS);
  REQUIRE(nothing.status.ok());
  CHECK(nothing.report.journal_id() == 0);
  CHECK(nothing.report.obligation().supplier_size() == wire::SUPPLIER_SIZE_MEDIUM);
  CHECK(nothing.report.obligation().total().hundredths() == 263);    // 10 x 26.3 % = 2.63
  CHECK(nothing.report.obligation().class_a().hundredths() == 152);  // medium from 2026
  // 2025 ended in deficit: 175.00 + 60.00 at $5,000, 60.00 + 2.63 at $20,000.
  CHECK(nothing.report.outcome().penalty_cents() ==
        (17500 + 6000 + 6000) * 5000 + (152 + 111) * 20000);
  CHECK(Sql(d.db(), "SELECT count(*) FROM credit_journals WHERE model_year_report_id = " +
                        std::to_string(third.report.id())) == "0");
  CHECK(LedgerViolations(d.db()).empty());

  // The 0017 downgrade refuses once a REDUCTION journal exists.
  CommandResult down = RunCommand({ZEVA_MIGRATE_BINARY, "downgrade", "0016_credit_applications"},
                                  {{"DATABASE_URL", d.db()},
                                   {"MIGRATIONS_DIR", std::string(ZEVA_SOURCE_DIR) + "/migrations"},
                                   {"LOAD_TEST_FIXTURES", ""},
                                   {"MIGRATE_LOCK_WAIT_SECONDS", ""}});
  INFO(down.output);
  CHECK(down.exit_code != 0);
  CHECK(down.output.find("REDUCTION journals exist") != std::string::npos);
  CHECK(Sql(d.db(), "SELECT version_num FROM alembic_version") == "0017_compliance");
}

TEST_CASE(
    "exactly once: 20 concurrent ASSESS of one report post one journal; ASSESS racing "
    "transfer SUBMITs and application VALIDATEs never takes reserved credits",
    "[compliance]") {
  Desk d;
  {
    const Supplier s = d.NewSupplier();
    d.Give(s.id, 2023, credits::CREDIT_CLASS_A, 100000);
    const uint64_t id = d.InStatus(s, S::MODEL_YEAR_REPORT_STATUS_RECOMMENDED, 2024, 5000, 5000);
    std::atomic<int> ready{0};
    std::vector<Answer> answers(20);
    std::vector<std::thread> callers;
    for (int i = 0; i < 20; ++i) {
      callers.emplace_back([&, i] {
        ++ready;
        while (ready.load() < 20) {
        }
        answers[i] = d.Act(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS);
      });
    }
    for (auto& t : callers) t.join();
    int ok = 0;
    for (const auto& answer : answers) {
      if (answer.status.ok()) {
        ++ok;
      } else {
        INFO(answer.status.error_message());
        CHECK(ErrorReason(answer.status) == "INVALID_STATUS");
      }
    }
    CHECK(ok == 1);
    CHECK(Sql(d.db(), "SELECT count(*) FROM credit_journals WHERE model_year_report_id = " +
                          std::to_string(id)) == "1");
    CHECK(d.BalanceText(s.id) == "2023 A 2500");  // 1000.00 - 975.00
    REQUIRE(LedgerViolations(d.db()).empty());
  }

  // Rounds of ASSESS against SUBMITs (reserving) and VALIDATEs (issuing) of the same supplier.
  const uint64_t buyer = OrganizationId(d.db(), "Test Vehicle Supplier 3");
  for (int round = 0; round < 3; ++round) {
    const Supplier s = d.NewSupplier();
    d.Give(s.id, 2023, credits::CREDIT_CLASS_A, 50000);
    d.Give(s.id, 2023, credits::CREDIT_CLASS_B, 50000);
    const uint64_t id = d.InStatus(s, S::MODEL_YEAR_REPORT_STATUS_RECOMMENDED, 2024, 5000, 5000);
    std::vector<uint64_t> transfers;
    for (int i = 0; i < 4; ++i) {
      auto t = d.ledger.CreateTransfer(s.sa, d.Key(), buyer, TransferLine{2023, 15000, 0});
      REQUIRE(t.status.ok());
      transfers.push_back(t.transfer.id());
    }
    // Applications ready to VALIDATE (2022 A credits), as the workflow would leave them.
    const std::string vehicle =
        Sql(d.db(),
            "INSERT INTO vehicles (organization_id, type, make, model, \"trim\", range, "
            "credits) VALUES (" +
                std::to_string(s.id) + ", 'BEV', 'Tesla', 'M', 'T', 300, 2.36) RETURNING id");
    std::vector<uint64_t> applications;
    for (int i = 0; i < 3; ++i) {
      const std::string app =
          Sql(d.db(),
              "INSERT INTO credit_applications (organization_id, status, record_count) "
              "VALUES (" +
                  std::to_string(s.id) + ", 'RECOMMENDED_APPROVAL', 1) RETURNING id");
      std::string vin = "5YJ3E1EA0KF" + std::to_string(100000 + round * 10 + i);
      vin[8] = zeva::domain::VinCheckDigit(vin);
      Sql(d.db(),
          "INSERT INTO credit_application_lines (application_id, vehicle_id, model_year, "
          "credit_class, credit_value) VALUES (" +
              app + ", " + vehicle +
              ", 2022, 'A', 236); "
              "INSERT INTO credit_application_records (application_id, vin, vehicle_id, "
              "model_year, sale_date, check_digit_ok, included) VALUES (" +
              app + ", '" + vin + "', " + vehicle + ", 2022, '2022-05-01', true, true)");
      applications.push_back(std::stoull(app));
    }
    std::atomic<int> ready{0};
    const int threads = static_cast<int>(transfers.size() + applications.size()) + 1;
    Answer assess;
    std::vector<std::thread> callers;
    auto go = [&] {
      ++ready;
      while (ready.load() < threads) {
      }
    };
    callers.emplace_back([&] {
      go();
      assess = d.Act(kDirector, id, A::MODEL_YEAR_REPORT_ACTION_ASSESS);
    });
    for (uint64_t t : transfers) {
      callers.emplace_back([&, t] {
        go();
        d.ledger.Transition(s.sa, d.Key(), t, credits::TRANSFER_ACTION_SUBMIT);
      });
    }
    for (uint64_t a : applications) {
      callers.emplace_back([&, a] {
        go();
        wire::TransitionApplicationRequest request;
        request.set_idempotency_key(d.Key());
        request.set_application_id(a);
        request.set_action(wire::APPLICATION_ACTION_VALIDATE);
        wire::CreditApplication out;
        auto context = d.service.ContextFor(kDirector);
        wire::CreditApplicationService::NewStub(d.service.channel())
            ->TransitionApplication(context.get(), request, &out);
      });
    }
    for (auto& t : callers) t.join();
    INFO("round " << round << ": " << assess.status.error_message());
    REQUIRE(assess.status.ok());
    // The deductions are exactly the journal's supplier entries, each at most what was
    // available (posted minus the reservations of submitted transfers) at the time.
    int64_t deducted = 0;
    for (const auto& x : assess.report.outcome().deductions()) deducted += x.amount().hundredths();
    CHECK(Sql(d.db(),
              "SELECT coalesce(-sum(e.amount), 0) FROM credit_ledger_entries e JOIN "
              "credit_journals j ON j.id = e.journal_id WHERE j.model_year_report_id = " +
                  std::to_string(id) + " AND e.organization_id = " + std::to_string(s.id)) ==
          std::to_string(deducted));
    CHECK(Sql(d.db(), "SELECT count(*) FROM credit_accounts WHERE organization_id = " +
                          std::to_string(s.id) + " AND posted - reserved < 0") == "0");
    // Every SUBMITTED transfer still holds its whole reservation.
    CHECK(Sql(d.db(),
              "SELECT coalesce(sum(l.amount), 0) FROM credit_transfers t JOIN "
              "credit_transfer_lines l ON l.transfer_id = t.id WHERE t.status = "
              "'SUBMITTED' AND t.from_organization_id = " +
                  std::to_string(s.id)) ==
          Sql(d.db(),
              "SELECT coalesce(sum(reserved), 0) FROM credit_accounts WHERE "
              "organization_id = " +
                  std::to_string(s.id)));
    const std::string violations = LedgerViolations(d.db());
    INFO(violations);
    REQUIRE(violations.empty());
  }
}
