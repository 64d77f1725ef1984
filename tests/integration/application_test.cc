// Credit applications through the real server and generated clients on a real PostgreSQL:
// every row of the workflow table and every refusal, each warning of CHECK, decisions, the
// values fixed at SUBMIT, visibility, and the races that must not award a VIN twice.
// Registration data is loaded with SQL (a COMPLETED import and its registrations), as the
// worker would leave it (the import itself is tested in [icbc]).

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "domain/application_workflow.h"
#include "domain/vin.h"
#include "tests/support/amqp_test_consumer.h"
#include "tests/support/ledger_client.h"
#include "tests/support/rabbitmq_server.h"
#include "tests/support/service_fixture.h"
#include "zeva/credits/v1/applications.grpc.pb.h"

using namespace zeva::testing;
using grpc::StatusCode;

namespace {

namespace wire = ::zeva::credits::v1;
constexpr char kSupplier[] = "test_vs_1";
constexpr char kSupplierUser[] = "test_vs_1_user";
constexpr char kOtherSupplier[] = "test_vs_2";
constexpr char kAnalyst[] = "test_gov_1";
constexpr char kDirector[] = "test_gov_director";

// A VIN with a valid check digit, distinct for each n.
std::string Vin(int n) {
  std::string tail = std::to_string(n % 1000000);
  tail.insert(0, 6 - tail.size(), '0');
  std::string vin = "5YJ3E1EA0KF" + tail;
  vin[8] = zeva::domain::VinCheckDigit(vin);
  return vin;
}

struct AppAnswer {
  grpc::Status status;
  wire::CreditApplication application;
};

struct Record {
  std::string vin;
  uint64_t vehicle = 0;
  uint32_t year = 2021;
  int sale_year = 2021, sale_month = 6, sale_day = 1;
};

std::vector<int> Actions(const wire::CreditApplication& a) {
  return {a.allowed_actions().begin(), a.allowed_actions().end()};
}

struct Office {
  ServiceFixture service{{"--db-pool-caller-share-percent=100", "--db-acquire-timeout-ms=10000"}};
  LedgerClient ledger{service};
  uint64_t vs1 = OrganizationId(service.database_url(), "Test Vehicle Supplier 1");
  uint64_t vs2 = OrganizationId(service.database_url(), "Test Vehicle Supplier 2");
  uint64_t gov = OrganizationId(service.database_url(), "Government of British Columbia");
  // BEVs of 300 km: class A, 300 x 0.006214 + 0.5 = 2.3642 -> 2.36 credits.
  uint64_t car1 = Vehicle(vs1, "BEV", 300, "Tesla");
  uint64_t car2 = Vehicle(vs2, "BEV", 300, "Nissan");
  std::atomic<int> keys{0};
  std::atomic<int> vins{0};

  std::string db() { return service.database_url(); }
  std::string Key() { return "key-" + std::to_string(++keys); }
  std::string NewVin() { return Vin(++vins); }

  uint64_t Vehicle(uint64_t organization, const std::string& type, int range,
                   const std::string& make) {
    return std::stoull(Sql(db(),
                           "INSERT INTO vehicles (organization_id, type, make, model, \"trim\", "
                           "range, credits) VALUES (" +
                               std::to_string(organization) + ", '" + type + "', '" + make +
                               "', 'Model', 'T', " + std::to_string(range) +
                               ", 1.00) RETURNING id"));
  }

  std::unique_ptr<wire::CreditApplicationService::Stub> Stub() {
    return wire::CreditApplicationService::NewStub(service.channel());
  }

  AppAnswer Create(const std::string& user, const std::string& comment = "filed",
                   const std::string& key = "") {
    wire::CreateApplicationRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_comment(comment);
    AppAnswer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->CreateApplication(context.get(), request, &answer.application);
    return answer;
  }

  AppAnswer Add(const std::string& user, uint64_t id, const std::vector<Record>& records,
                uint32_t expected_version = 0, const std::string& key = "") {
    wire::AddSalesRecordsRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_application_id(id);
    request.set_expected_version(expected_version);
    for (const Record& r : records) {
      auto* w = request.add_records();
      w->set_vin(r.vin);
      w->set_vehicle_id(r.vehicle);
      w->set_model_year(r.year);
      w->mutable_sale_date()->set_year(r.sale_year);
      w->mutable_sale_date()->set_month(r.sale_month);
      w->mutable_sale_date()->set_day(r.sale_day);
    }
    AppAnswer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->AddSalesRecords(context.get(), request, &answer.application);
    return answer;
  }

  AppAnswer Remove(const std::string& user, uint64_t id, const std::vector<uint64_t>& records,
                   const std::string& key = "") {
    wire::RemoveSalesRecordsRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_application_id(id);
    for (uint64_t r : records) request.add_record_ids(r);
    AppAnswer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->RemoveSalesRecords(context.get(), request, &answer.application);
    return answer;
  }

  AppAnswer Decide(const std::string& user, uint64_t id,
                   const std::vector<std::tuple<uint64_t, bool, std::string>>& decisions,
                   const std::string& key = "") {
    wire::SetRecordDecisionsRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_application_id(id);
    for (const auto& [record, included, reason] : decisions) {
      auto* d = request.add_decisions();
      d->set_record_id(record);
      d->set_included(included);
      d->set_reason(reason);
    }
    AppAnswer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->SetRecordDecisions(context.get(), request, &answer.application);
    return answer;
  }

  AppAnswer Act(const std::string& user, uint64_t id, wire::ApplicationAction action,
                uint32_t expected_version = 0, const std::string& key = "") {
    wire::TransitionApplicationRequest request;
    request.set_idempotency_key(key.empty() ? Key() : key);
    request.set_application_id(id);
    request.set_action(action);
    request.set_expected_version(expected_version);
    request.set_comment(std::string("by ") + user);
    AppAnswer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->TransitionApplication(context.get(), request, &answer.application);
    return answer;
  }

  AppAnswer Get(const std::string& user, uint64_t id) {
    wire::GetApplicationRequest request;
    request.set_application_id(id);
    AppAnswer answer;
    auto context = service.ContextFor(user);
    answer.status = Stub()->GetApplication(context.get(), request, &answer.application);
    return answer;
  }

  grpc::Status List(const std::string& user, const wire::ListApplicationsRequest& request,
                    std::vector<uint64_t>* ids) {
    auto context = service.ContextFor(user);
    auto reader = Stub()->ListApplications(context.get(), request);
    wire::CreditApplication a;
    while (reader->Read(&a)) ids->push_back(a.id());
    return reader->Finish();
  }

  grpc::Status Records(const std::string& user, uint64_t id, wire::RecordFilter filter,
                       std::vector<wire::SalesRecord>* out) {
    wire::ListSalesRecordsRequest request;
    request.set_application_id(id);
    request.set_filter(filter);
    auto context = service.ContextFor(user);
    auto reader = Stub()->ListSalesRecords(context.get(), request);
    wire::SalesRecord r;
    while (reader->Read(&r)) out->push_back(r);
    return reader->Finish();
  }

  std::vector<wire::SalesRecord> RecordsOf(
      uint64_t id, wire::RecordFilter filter = wire::RECORD_FILTER_UNSPECIFIED) {
    std::vector<wire::SalesRecord> out;
    REQUIRE(Records(kAnalyst, id, filter, &out).ok());
    return out;
  }

  // A COMPLETED import holding these registrations (vin, make, model year); returns its id.
  uint64_t Register(const std::vector<std::tuple<std::string, std::string, int>>& registrations) {
    const std::string id = Sql(
        db(),
        "INSERT INTO icbc_imports (status, file_name, current_to, size_bytes, sha256, "
        "received_bytes, uploaded_by, queued_seq, finished_at) VALUES ('COMPLETED', 'x.csv', "
        "'2024-01-31', 1, repeat('0', 64), 1, 'test_gov_1', nextval('icbc_imports_queued_seq'), "
        "clock_timestamp()) RETURNING id");
    for (const auto& [vin, make, year] : registrations) {
      Sql(db(),
          "INSERT INTO icbc_registrations (vin, make, model, model_year, import_id) VALUES ('" +
              vin + "', '" + make + "', 'Model', " + std::to_string(year) + ", " + id +
              ") ON CONFLICT (vin) DO UPDATE SET make = EXCLUDED.make, "
              "model_year = EXCLUDED.model_year, import_id = EXCLUDED.import_id");
    }
    return std::stoull(id);
  }

  void Step(const std::string& user, uint64_t id, wire::ApplicationAction action) {
    auto answer = Act(user, id, action);
    INFO(user << " " << wire::ApplicationAction_Name(action) << ": "
              << answer.status.error_message());
    REQUIRE(answer.status.ok());
  }

  // An application of vs1 with `records` (one new VIN of car1 when empty), driven along the
  // table to `status`.
  uint64_t InStatus(wire::ApplicationStatus status, std::vector<Record> records = {}) {
    using S = wire::ApplicationStatus;
    auto created = Create(kSupplier);
    REQUIRE(created.status.ok());
    const uint64_t id = created.application.id();
    if (records.empty()) records.push_back(Record{NewVin(), car1});
    auto added = Add(kSupplier, id, records);
    INFO(added.status.error_message());
    REQUIRE(added.status.ok());
    if (status == S::APPLICATION_STATUS_DRAFT) return id;
    if (status == S::APPLICATION_STATUS_DELETED) {
      Step(kSupplier, id, wire::APPLICATION_ACTION_DELETE);
      return id;
    }
    Step(kSupplier, id, wire::APPLICATION_ACTION_SUBMIT);
    if (status == S::APPLICATION_STATUS_SUBMITTED) return id;
    Step(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
    if (status == S::APPLICATION_STATUS_CHECKED) return id;
    if (status == S::APPLICATION_STATUS_RECOMMENDED_REJECTION ||
        status == S::APPLICATION_STATUS_REJECTED) {
      Step(kAnalyst, id, wire::APPLICATION_ACTION_RECOMMEND_REJECTION);
      if (status == S::APPLICATION_STATUS_REJECTED) {
        Step(kDirector, id, wire::APPLICATION_ACTION_REJECT);
      }
      return id;
    }
    Step(kAnalyst, id, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL);
    if (status == S::APPLICATION_STATUS_RECOMMENDED_APPROVAL) return id;
    Step(kDirector, id, wire::APPLICATION_ACTION_VALIDATE);
    return id;
  }

  // Every record of a CHECKED application included (with a reason where it has warnings).
  void IncludeAll(uint64_t id) {
    std::vector<std::tuple<uint64_t, bool, std::string>> decisions;
    for (const auto& r : RecordsOf(id)) decisions.emplace_back(r.id(), true, "seen the invoice");
    auto decided = Decide(kAnalyst, id, decisions);
    INFO(decided.status.error_message());
    REQUIRE(decided.status.ok());
  }

  int64_t Posted(uint64_t organization, uint32_t year = 2021) {
    credits::GetBalancesResponse balances;
    REQUIRE(ledger.Balances(kAnalyst, organization, &balances).ok());
    for (const auto& b : balances.balances()) {
      if (b.model_year() == year && b.credit_class() == credits::CREDIT_CLASS_A) {
        return b.posted().hundredths();
      }
    }
    return 0;
  }

  std::string Violations() {
    const std::string v = LedgerViolations(db());
    return v;
  }
};

}  // namespace

TEST_CASE("the happy path: filed, checked, recommended, validated; one journal, VINs awarded",
          "[applications]") {
  Office o;
  const std::vector<std::string> vins = {o.NewVin(), o.NewVin(), o.NewVin()};
  const uint64_t import_id =
      o.Register({{vins[0], "TESLA", 2021}, {vins[1], " tesla  ", 2021}, {vins[2], "Tesla", 2021}});
  auto created = o.Create(kSupplierUser, "three sales");
  INFO(created.status.error_message());
  REQUIRE(created.status.ok());
  const uint64_t id = created.application.id();
  CHECK(created.application.status() == wire::APPLICATION_STATUS_DRAFT);
  CHECK(created.application.version() == 1);
  CHECK(created.application.organization_name() == "Test Vehicle Supplier 1");
  REQUIRE(created.application.history_size() == 1);
  CHECK(created.application.history(0).comment() == "three sales");
  CHECK(Actions(created.application) == std::vector<int>{wire::APPLICATION_ACTION_DELETE});

  auto added = o.Add(kSupplierUser, id, {{vins[0], o.car1}, {vins[1], o.car1}}, 1);
  INFO(added.status.error_message());
  REQUIRE(added.status.ok());
  added = o.Add(kSupplierUser, id, {{" " + vins[2] + " ", o.car1, 2021}}, 2);
  REQUIRE(added.status.ok());
  const wire::CreditApplication& draft = added.application;
  CHECK(draft.version() == 3);
  CHECK(draft.record_count() == 3);
  REQUIRE(draft.lines_size() == 1);
  CHECK(draft.lines(0).make() == "Tesla");
  CHECK(draft.lines(0).credit_class() == credits::CREDIT_CLASS_A);
  CHECK(draft.lines(0).credit_value().hundredths() == 236);
  CHECK(draft.lines(0).records() == 3);
  CHECK(draft.lines(0).included() == 0);
  // A ZEVA_USER may not submit.
  CHECK(o.Act(kSupplierUser, id, wire::APPLICATION_ACTION_SUBMIT).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  auto submitted = o.Act(kSupplier, id, wire::APPLICATION_ACTION_SUBMIT, 3);
  REQUIRE(submitted.status.ok());
  CHECK(submitted.application.status() == wire::APPLICATION_STATUS_SUBMITTED);
  // Analysts are told of a submission.
  CHECK(Sql(o.db(),
            "SELECT count(*) FROM notifications WHERE username = 'test_gov_1' AND "
            "event_type = 'credits.application.submitted' AND application_id = " +
                std::to_string(id)) == "1");

  auto checked = o.Act(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
  INFO(checked.status.error_message());
  REQUIRE(checked.status.ok());
  CHECK(checked.application.status() == wire::APPLICATION_STATUS_CHECKED);
  CHECK(checked.application.included_count() == 3);
  CHECK(checked.application.warnings_size() == 0);
  CHECK(checked.application.checked_against_import_id() == import_id);
  CHECK(checked.application.icbc_current_to().year() == 2024);
  CHECK(checked.application.icbc_current_to().month() == 1);
  CHECK(checked.application.icbc_current_to().day() == 31);
  REQUIRE(checked.application.totals_size() == 1);
  CHECK(checked.application.totals(0).posted().hundredths() == 708);
  CHECK(Actions(checked.application) ==
        std::vector<int>{wire::APPLICATION_ACTION_CHECK,
                         wire::APPLICATION_ACTION_RECOMMEND_APPROVAL,
                         wire::APPLICATION_ACTION_RECOMMEND_REJECTION,
                         wire::APPLICATION_ACTION_RETURN_TO_SUPPLIER});
  const auto records = o.RecordsOf(id);
  REQUIRE(records.size() == 3);
  CHECK(records[1].icbc_make() == " tesla  ");
  {  // Paging: after_id and limit.
    wire::ListSalesRecordsRequest page;
    page.set_application_id(id);
    page.set_after_id(records[0].id());
    page.set_limit(1);
    auto context = o.service.ContextFor(kSupplier);
    auto reader = o.Stub()->ListSalesRecords(context.get(), page);
    std::vector<uint64_t> got;
    wire::SalesRecord r;
    while (reader->Read(&r)) got.push_back(r.id());
    REQUIRE(reader->Finish().ok());
    CHECK(got == std::vector<uint64_t>{records[1].id()});
  }
  CHECK(records[1].icbc_model_year() == 2021);
  CHECK(records[1].included());

  o.Step(kAnalyst, id, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL);
  auto validated = o.Act(kDirector, id, wire::APPLICATION_ACTION_VALIDATE);
  INFO(validated.status.error_message());
  REQUIRE(validated.status.ok());
  const wire::CreditApplication& done = validated.application;
  CHECK(done.status() == wire::APPLICATION_STATUS_VALIDATED);
  CHECK(done.version() == 7);
  CHECK(done.journal_id() != 0);
  CHECK(done.allowed_actions_size() == 0);
  REQUIRE(done.history_size() == 5);
  CHECK(done.history(4).action() == wire::APPLICATION_ACTION_VALIDATE);
  CHECK(done.history(4).from_status() == wire::APPLICATION_STATUS_RECOMMENDED_APPROVAL);
  CHECK(done.history(4).actor() == kDirector);
  CHECK(o.Posted(o.vs1) == 708);

  auto journal = o.ledger.Journal(kSupplier, done.journal_id());
  REQUIRE(journal.status.ok());
  CHECK(journal.journal.kind() == credits::JOURNAL_KIND_ISSUANCE);
  CHECK(journal.journal.reference() == "application/" + std::to_string(id));
  CHECK(journal.journal.application_id() == id);
  CHECK(Sql(o.db(), "SELECT application_id FROM credit_journals WHERE id = " +
                        std::to_string(done.journal_id())) == std::to_string(id));
  CHECK(Sql(o.db(), "SELECT count(*) FROM awarded_vins WHERE application_id = " +
                        std::to_string(id)) == "3");
  // VALIDATE's only event names the application and the journal; the supplier is told.
  CHECK(Sql(o.db(), "SELECT string_agg(event_type, ',') FROM outbox_events WHERE journal_id = " +
                        std::to_string(done.journal_id())) == "credits.application.validated");
  CHECK(Sql(o.db(), "SELECT application_id FROM outbox_events WHERE journal_id = " +
                        std::to_string(done.journal_id())) == std::to_string(id));
  CHECK(Sql(o.db(),
            "SELECT count(*) FROM notifications WHERE username = 'test_vs_1_user' AND "
            "event_type = 'credits.application.validated'") == "1");
  CHECK(Sql(o.db(),
            "SELECT count(*) FROM notifications WHERE username = 'test_gov_director' AND "
            "event_type = 'credits.application.validated'") == "0");
  // A replay of the VALIDATE returns the application and posts nothing more.
  CHECK(o.Violations().empty());
}

TEST_CASE("applications: every (status, action, caller) outside the table is refused",
          "[applications]") {
  Office o;
  struct Who {
    const char* user;
    bool government;
    uint64_t organization;
    std::vector<std::string> roles;
  };
  const std::vector<Who> callers = {
      {kSupplier, false, o.vs1, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
      {kSupplierUser, false, o.vs1, {"ZEVA_USER"}},
      {kOtherSupplier, false, o.vs2, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
      {kAnalyst, true, o.gov, {"ENGINEER_ANALYST"}},
      {kDirector, true, o.gov, {"DIRECTOR"}}};
  int refused = 0;
  for (int s = 1; s <= 8; ++s) {
    const auto status = static_cast<wire::ApplicationStatus>(s);
    const uint64_t id = o.InStatus(status);
    const std::string before =
        Sql(o.db(), "SELECT status || '/' || version FROM credit_applications WHERE id = " +
                        std::to_string(id));
    for (int a = 1; a <= 9; ++a) {
      for (const Who& who : callers) {
        const auto party = zeva::domain::ApplicantPartyOf(
            who.government, static_cast<int64_t>(who.organization), static_cast<int64_t>(o.vs1));
        const auto domain_status = static_cast<zeva::domain::ApplicationStatus>(s);
        StatusCode expected = StatusCode::OK;
        if (!zeva::domain::MaySeeApplication(party, domain_status)) {
          expected = StatusCode::NOT_FOUND;
        } else {
          auto decided = zeva::domain::DecideApplication(
              domain_status, static_cast<zeva::domain::ApplicationAction>(a), party, who.government,
              who.roles);
          if (decided.ok()) continue;  // allowed: done by the test of its row
          expected = static_cast<StatusCode>(decided.status().code());
        }
        auto answer = o.Act(who.user, id, static_cast<wire::ApplicationAction>(a));
        INFO(who.user << " " << wire::ApplicationAction_Name(a) << " on "
                      << wire::ApplicationStatus_Name(s) << ": " << answer.status.error_message());
        CHECK(answer.status.error_code() == expected);
        if (expected == StatusCode::FAILED_PRECONDITION) {
          CHECK(ErrorReason(answer.status) == "INVALID_STATUS");
        }
        ++refused;
      }
    }
    CHECK(Sql(o.db(), "SELECT status || '/' || version FROM credit_applications WHERE id = " +
                          std::to_string(id)) == before);
  }
  WARN(refused << " refused (status, action, caller) triples tried through the server");
  // A stale version: ABORTED, VERSION_MISMATCH; nothing changed.
  const uint64_t submitted = o.InStatus(wire::APPLICATION_STATUS_SUBMITTED);
  auto stale = o.Act(kAnalyst, submitted, wire::APPLICATION_ACTION_CHECK, 1);
  CHECK(stale.status.error_code() == StatusCode::ABORTED);
  CHECK(ErrorReason(stale.status) == "VERSION_MISMATCH");
  CHECK(o.Get(kAnalyst, submitted).application.status() == wire::APPLICATION_STATUS_SUBMITTED);
  // UNSPECIFIED is malformed.
  auto unspecified = o.Act(kAnalyst, submitted, wire::APPLICATION_ACTION_UNSPECIFIED);
  CHECK(unspecified.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(o.Violations().empty());
}

TEST_CASE(
    "the rows that go back: re-CHECK, RETURN_TO_SUPPLIER from SUBMITTED and CHECKED, "
    "RETURN_TO_ANALYST from both recommendations",
    "[applications]") {
  Office o;
  const std::string vin = o.NewVin();
  o.Register({{vin, "Tesla", 2021}});
  // RETURN_TO_SUPPLIER from CHECKED clears warnings, decisions, fixed values and the import.
  const uint64_t checked = o.InStatus(wire::APPLICATION_STATUS_CHECKED, {{vin, o.car1}});
  CHECK(o.Get(kAnalyst, checked).application.included_count() == 1);
  auto returned = o.Act(kAnalyst, checked, wire::APPLICATION_ACTION_RETURN_TO_SUPPLIER);
  REQUIRE(returned.status.ok());
  CHECK(returned.application.status() == wire::APPLICATION_STATUS_DRAFT);
  CHECK(returned.application.allowed_actions_size() == 0);  // the analyst can no longer see it
  CHECK(returned.application.checked_against_import_id() == 0);
  CHECK(returned.application.included_count() == 0);
  CHECK(o.Get(kAnalyst, checked).status.error_code() == StatusCode::NOT_FOUND);
  CHECK(Sql(o.db(), "SELECT count(*) FROM credit_application_lines WHERE application_id = " +
                        std::to_string(checked)) == "0");
  CHECK(Sql(o.db(),
            "SELECT count(*) FROM notifications WHERE username = 'test_vs_1' AND "
            "event_type = 'credits.application.returned_to_supplier'") == "1");
  // The supplier may edit it again, and submit it again.
  CHECK(o.Add(kSupplier, checked, {{o.NewVin(), o.car1}}).status.ok());
  o.Step(kSupplier, checked, wire::APPLICATION_ACTION_SUBMIT);
  o.Step(kAnalyst, checked, wire::APPLICATION_ACTION_RETURN_TO_SUPPLIER);  // from SUBMITTED
  CHECK(o.Get(kSupplier, checked).application.status() == wire::APPLICATION_STATUS_DRAFT);
  // CHECK again from CHECKED; RETURN_TO_ANALYST from both recommendations.
  for (auto recommend : {wire::APPLICATION_ACTION_RECOMMEND_APPROVAL,
                         wire::APPLICATION_ACTION_RECOMMEND_REJECTION}) {
    const uint64_t id = o.InStatus(wire::APPLICATION_STATUS_CHECKED);
    o.Step(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
    o.Step(kAnalyst, id, recommend);
    auto back = o.Act(kDirector, id, wire::APPLICATION_ACTION_RETURN_TO_ANALYST);
    REQUIRE(back.status.ok());
    CHECK(back.application.status() == wire::APPLICATION_STATUS_CHECKED);
    CHECK(back.application.history_size() == 6);
  }
  CHECK(Sql(o.db(),
            "SELECT count(*) FROM notifications WHERE username = 'test_gov_1' AND "
            "event_type = 'credits.application.returned_to_analyst'") == "2");
  // Rejection: REJECTED, the supplier told, nothing issued.
  const uint64_t rejected = o.InStatus(wire::APPLICATION_STATUS_REJECTED);
  CHECK(o.Get(kSupplier, rejected).application.status() == wire::APPLICATION_STATUS_REJECTED);
  CHECK(Sql(o.db(), "SELECT count(*) FROM credit_journals") == "0");
  CHECK(o.Violations().empty());
}

TEST_CASE(
    "records: batches refused whole, with the field named; NO_RECORDS, "
    "DUPLICATE_VIN, TOO_MANY_RECORDS, INVALID_STATUS",
    "[applications]") {
  Office o;
  const uint64_t id = o.Create(kSupplier).application.id();
  const uint64_t class_c = o.Vehicle(o.vs1, "BEV", 50, "Tesla");
  // NO_RECORDS.
  auto empty = o.Act(kSupplier, id, wire::APPLICATION_ACTION_SUBMIT);
  CHECK(empty.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(empty.status) == "NO_RECORDS");
  const std::string a = o.NewVin(), b = o.NewVin();
  struct Case {
    const char* name;
    std::vector<Record> records;
    StatusCode code;
    std::string field;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"bad VIN",
       {{a, o.car1}, {"5YJ3E1EA0KF00000O", o.car1}},
       StatusCode::INVALID_ARGUMENT,
       "records[1].vin",
       "INVALID_ARGUMENT"},
      {"twice in the batch",
       {{a, o.car1}, {b, o.car1}, {a, o.car1}},
       StatusCode::INVALID_ARGUMENT,
       "records[2].vin",
       "DUPLICATE_VIN"},
      {"another supplier's vehicle",
       {{a, o.car2}},
       StatusCode::INVALID_ARGUMENT,
       "records[0].vehicle_id",
       "INVALID_ARGUMENT"},
      {"a class C vehicle",
       {{a, o.car1}, {b, class_c}},
       StatusCode::INVALID_ARGUMENT,
       "records[1].vehicle_id",
       "INVALID_ARGUMENT"},
      {"model year 2018",
       {{a, o.car1, 2018}},
       StatusCode::INVALID_ARGUMENT,
       "records[0].model_year",
       "INVALID_ARGUMENT"},
      {"sale in the future",
       {{a, o.car1, 2021, 2999, 1, 1}},
       StatusCode::INVALID_ARGUMENT,
       "records[0].sale_date",
       "INVALID_ARGUMENT"},
      {"no such date",
       {{a, o.car1, 2021, 2021, 2, 30}},
       StatusCode::INVALID_ARGUMENT,
       "records[0].sale_date",
       "INVALID_ARGUMENT"},
  };
  for (const Case& c : cases) {
    auto answer = o.Add(kSupplier, id, c.records);
    INFO(c.name << ": " << answer.status.error_message());
    CHECK(answer.status.error_code() == c.code);
    CHECK(ErrorField(answer.status) == c.field);
    CHECK(ErrorReason(answer.status) == c.reason);
  }
  CHECK(o.Get(kSupplier, id).application.record_count() == 0);
  CHECK(o.Get(kSupplier, id).application.version() == 1);
  // Already in the application.
  REQUIRE(o.Add(kSupplier, id, {{a, o.car1}}).status.ok());
  auto again = o.Add(kSupplier, id, {{b, o.car1}, {a, o.car1}});
  CHECK(again.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorReason(again.status) == "DUPLICATE_VIN");
  CHECK(ErrorField(again.status) == "records[1].vin");
  // Another supplier: NOT_FOUND before anything about the records.
  CHECK(o.Add(kOtherSupplier, id, {{b, o.car2}}).status.error_code() == StatusCode::NOT_FOUND);
  // A stale version.
  auto stale = o.Add(kSupplier, id, {{b, o.car1}}, 1);
  CHECK(stale.status.error_code() == StatusCode::ABORTED);
  CHECK(ErrorReason(stale.status) == "VERSION_MISMATCH");
  // Remove: the application's own records only, the whole call or nothing.
  const uint64_t other = o.InStatus(wire::APPLICATION_STATUS_DRAFT);
  std::vector<wire::SalesRecord> mine;
  REQUIRE(o.Records(kSupplier, id, wire::RECORD_FILTER_UNSPECIFIED, &mine).ok());
  std::vector<wire::SalesRecord> theirs;
  REQUIRE(o.Records(kSupplier, other, wire::RECORD_FILTER_UNSPECIFIED, &theirs).ok());
  auto cross = o.Remove(kSupplier, id, {mine[0].id(), theirs[0].id()});
  CHECK(cross.status.error_code() == StatusCode::NOT_FOUND);
  CHECK(ErrorField(cross.status) == "record_ids[1]");
  CHECK(o.Get(kSupplier, id).application.record_count() == 1);
  auto removed = o.Remove(kSupplierUser, id, {mine[0].id()});
  REQUIRE(removed.status.ok());
  CHECK(removed.application.record_count() == 0);
  CHECK(removed.application.lines_size() == 0);
  // Only in DRAFT.
  const uint64_t submitted = o.InStatus(wire::APPLICATION_STATUS_SUBMITTED);
  auto late = o.Add(kSupplier, submitted, {{o.NewVin(), o.car1}});
  CHECK(late.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(late.status) == "INVALID_STATUS");
  // TOO_MANY_RECORDS: 99,999 records loaded with SQL, then a batch of 2 and a batch of 1.
  const uint64_t big = o.Create(kSupplier).application.id();
  Sql(o.db(),
      "INSERT INTO credit_application_records (application_id, vin, vehicle_id, "
      "model_year, sale_date, check_digit_ok) SELECT " +
          std::to_string(big) + ", 'ZZZZ' || lpad(i::text, 13, '0'), " + std::to_string(o.car1) +
          ", 2021, '2021-06-01', false FROM generate_series(1, 99999) i; "
          "UPDATE credit_applications SET record_count = 99999 WHERE id = " +
          std::to_string(big));
  auto too_many = o.Add(kSupplier, big, {{o.NewVin(), o.car1}, {o.NewVin(), o.car1}});
  CHECK(too_many.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(too_many.status) == "TOO_MANY_RECORDS");
  auto last = o.Add(kSupplier, big, {{o.NewVin(), o.car1}});
  INFO(last.status.error_message());
  CHECK(last.status.ok());
  CHECK(last.application.record_count() == 100000);
}

TEST_CASE(
    "CHECK: each warning on its own record, one record with two, against the newest "
    "COMPLETED import",
    "[applications]") {
  Office o;
  // Without any COMPLETED import every record is NO_ICBC_MATCH.
  const uint64_t early = o.InStatus(wire::APPLICATION_STATUS_CHECKED);
  CHECK(o.RecordsOf(early)[0].warnings(0) == wire::RECORD_WARNING_NO_ICBC_MATCH);
  CHECK(o.Get(kAnalyst, early).application.checked_against_import_id() == 0);
  o.Step(kAnalyst, early, wire::APPLICATION_ACTION_RETURN_TO_SUPPLIER);

  // An awarded VIN (validated in an earlier application) and one held by vs2's SUBMITTED one.
  const std::string awarded = o.NewVin();
  o.Register({{awarded, "Tesla", 2021}});
  o.InStatus(wire::APPLICATION_STATUS_VALIDATED, {{awarded, o.car1}});
  REQUIRE(Sql(o.db(), "SELECT count(*) FROM awarded_vins WHERE vin = '" + awarded + "'") == "1");
  const std::string held = o.NewVin();
  const uint64_t other = o.Create(kOtherSupplier).application.id();
  REQUIRE(o.Add(kOtherSupplier, other, {{held, o.car2}}).status.ok());
  o.Step(kOtherSupplier, other, wire::APPLICATION_ACTION_SUBMIT);

  const std::string clean = o.NewVin(), unmatched = o.NewVin(), make = o.NewVin(),
                    year = o.NewVin(), early_sale = o.NewVin(), boundary = o.NewVin();
  std::string bad_digit = o.NewVin();
  bad_digit[8] = bad_digit[8] == '1' ? '2' : '1';
  std::string two = o.NewVin();
  two[8] = two[8] == '1' ? '2' : '1';
  const uint64_t import_id = o.Register({{clean, "TESLA", 2021},
                                         {make, "Tesla Motors", 2021},
                                         {year, "Tesla", 2022},
                                         {held, "Tesla", 2021},
                                         {early_sale, "Tesla", 2021},
                                         {boundary, "Tesla", 2021},
                                         {bad_digit, "Tesla", 2021},
                                         {two, "Tesla", 2021}});
  const std::vector<Record> records = {{clean, o.car1},
                                       {unmatched, o.car1},
                                       {make, o.car1},
                                       {year, o.car1},
                                       {awarded, o.car1},
                                       {held, o.car1},
                                       {early_sale, o.car1, 2021, 2018, 1, 1},
                                       {boundary, o.car1, 2021, 2018, 1, 2},
                                       {bad_digit, o.car1},
                                       {two, o.car1, 2021, 2017, 12, 31}};
  const uint64_t id = o.InStatus(wire::APPLICATION_STATUS_CHECKED, records);
  const auto checked = o.Get(kAnalyst, id).application;
  CHECK(checked.checked_against_import_id() == import_id);
  std::map<std::string, std::vector<int>> warnings;
  std::map<std::string, bool> included;
  for (const auto& r : o.RecordsOf(id)) {
    warnings[r.vin()] = {r.warnings().begin(), r.warnings().end()};
    included[r.vin()] = r.included();
  }
  using W = wire::RecordWarning;
  CHECK(warnings[clean].empty());
  CHECK(warnings[boundary].empty());
  CHECK(warnings[unmatched] == std::vector<int>{W::RECORD_WARNING_NO_ICBC_MATCH});
  CHECK(warnings[make] == std::vector<int>{W::RECORD_WARNING_MAKE_MISMATCH});
  CHECK(warnings[year] == std::vector<int>{W::RECORD_WARNING_MODEL_YEAR_MISMATCH});
  CHECK(warnings[awarded] == std::vector<int>{W::RECORD_WARNING_VIN_ALREADY_AWARDED});
  CHECK(warnings[held] == std::vector<int>{W::RECORD_WARNING_VIN_IN_OTHER_APPLICATION});
  CHECK(warnings[early_sale] == std::vector<int>{W::RECORD_WARNING_SALE_BEFORE_PROGRAM});
  CHECK(warnings[bad_digit] == std::vector<int>{W::RECORD_WARNING_VIN_CHECK_DIGIT});
  CHECK(warnings[two] ==
        std::vector<int>{W::RECORD_WARNING_SALE_BEFORE_PROGRAM, W::RECORD_WARNING_VIN_CHECK_DIGIT});
  CHECK(included[clean]);
  CHECK(included[boundary]);
  CHECK_FALSE(included[make]);
  CHECK_FALSE(included[two]);
  CHECK(checked.included_count() == 2);
  // Counts per warning, in enum order.
  std::vector<std::pair<int, int>> counts;
  for (const auto& w : checked.warnings()) counts.emplace_back(w.warning(), w.records());
  CHECK(counts ==
        std::vector<std::pair<int, int>>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 2}, {7, 2}});
  CHECK(o.RecordsOf(id, wire::RECORD_FILTER_WITH_WARNINGS).size() == 8);
  CHECK(o.RecordsOf(id, wire::RECORD_FILTER_INCLUDED).size() == 2);
  CHECK(o.RecordsOf(id, wire::RECORD_FILTER_EXCLUDED).size() == 8);
  // The supplier sees ICBC's make on its own records after a CHECK.
  std::vector<wire::SalesRecord> own;
  REQUIRE(o.Records(kSupplier, id, wire::RECORD_FILTER_UNSPECIFIED, &own).ok());
  for (const auto& r : own) {
    if (r.vin() == make) CHECK(r.icbc_make() == "Tesla Motors");
  }
}

TEST_CASE(
    "decisions: exclude freely, include with warnings only with a reason, never an "
    "awarded VIN; all or nothing",
    "[applications]") {
  Office o;
  const std::string awarded = o.NewVin(), clean = o.NewVin(), warned = o.NewVin();
  o.Register({{awarded, "Tesla", 2021}, {clean, "Tesla", 2021}});
  o.InStatus(wire::APPLICATION_STATUS_VALIDATED, {{awarded, o.car1}});
  // Decisions need CHECKED.
  const uint64_t submitted = o.InStatus(wire::APPLICATION_STATUS_SUBMITTED);
  auto early = o.Decide(kAnalyst, submitted, {{o.RecordsOf(submitted)[0].id(), false, ""}});
  CHECK(early.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(early.status) == "INVALID_STATUS");

  const uint64_t id = o.InStatus(wire::APPLICATION_STATUS_CHECKED,
                                 {{clean, o.car1}, {warned, o.car1}, {awarded, o.car1}});
  std::map<std::string, uint64_t> ids;
  for (const auto& r : o.RecordsOf(id)) ids[r.vin()] = r.id();
  const int version = static_cast<int>(o.Get(kAnalyst, id).application.version());
  // Only an analyst decides.
  CHECK(o.Decide(kSupplier, id, {{ids[clean], false, ""}}).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  CHECK(o.Decide(kDirector, id, {{ids[clean], false, ""}}).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  // Including a record with warnings needs a reason; the whole call is refused.
  auto no_reason = o.Decide(kAnalyst, id, {{ids[clean], false, ""}, {ids[warned], true, ""}});
  CHECK(no_reason.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorField(no_reason.status) == "decisions[1].reason");
  // An awarded VIN can never be included, reason or not.
  auto awarded_in = o.Decide(kAnalyst, id, {{ids[awarded], true, "looks fine"}});
  CHECK(awarded_in.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(awarded_in.status) == "VIN_ALREADY_AWARDED");
  // A record of another application: NOT_FOUND.
  auto foreign = o.Decide(kAnalyst, id, {{o.RecordsOf(submitted)[0].id(), false, ""}});
  CHECK(foreign.status.error_code() == StatusCode::NOT_FOUND);
  auto unchanged = o.Get(kAnalyst, id).application;
  CHECK(static_cast<int>(unchanged.version()) == version);
  CHECK(unchanged.included_count() == 1);
  // Excluded without a reason, included with one.
  auto decided = o.Decide(kAnalyst, id,
                          {{ids[clean], false, ""}, {ids[warned], true, "registered in Alberta"}});
  INFO(decided.status.error_message());
  REQUIRE(decided.status.ok());
  CHECK(static_cast<int>(decided.application.version()) == version + 1);
  CHECK(decided.application.included_count() == 1);
  for (const auto& r : o.RecordsOf(id)) {
    if (r.vin() == warned) {
      CHECK(r.included());
      CHECK(r.decision_reason() == "registered in Alberta");
    }
    if (r.vin() == clean) CHECK_FALSE(r.included());
  }
  // A new CHECK replaces the decisions.
  o.Step(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
  for (const auto& r : o.RecordsOf(id)) {
    CHECK(r.included() == (r.vin() == clean));
    CHECK(r.decision_reason().empty());
  }
}

TEST_CASE("the values fixed at SUBMIT survive a later change of the vehicle model",
          "[applications]") {
  Office o;
  const std::string a = o.NewVin(), b = o.NewVin();
  o.Register({{a, "Tesla", 2021}, {b, "Tesla", 2021}});
  const uint64_t id = o.Create(kSupplier).application.id();
  REQUIRE(o.Add(kSupplier, id, {{a, o.car1}, {b, o.car1}}).status.ok());
  // Before SUBMIT the line follows the vehicle as it is: 200 km -> 200 x 0.006214 + 0.5 = 1.74.
  Sql(o.db(), "UPDATE vehicles SET range = 200 WHERE id = " + std::to_string(o.car1));
  CHECK(o.Get(kSupplier, id).application.lines(0).credit_value().hundredths() == 174);
  o.Step(kSupplier, id, wire::APPLICATION_ACTION_SUBMIT);
  // After SUBMIT a change of the model changes nothing the application earns.
  Sql(o.db(),
      "UPDATE vehicles SET range = 450, type = 'EREV' WHERE id = " + std::to_string(o.car1));
  auto submitted = o.Get(kSupplier, id).application;
  CHECK(submitted.lines(0).credit_value().hundredths() == 174);
  CHECK(submitted.lines(0).credit_class() == credits::CREDIT_CLASS_A);
  o.Step(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
  o.Step(kAnalyst, id, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL);
  auto validated = o.Act(kDirector, id, wire::APPLICATION_ACTION_VALIDATE);
  REQUIRE(validated.status.ok());
  CHECK(validated.application.lines(0).credits().hundredths() == 348);
  CHECK(o.Posted(o.vs1) == 348);
  CHECK(o.Violations().empty());
}

TEST_CASE(
    "application visibility: the supplier sees its own in every status, government from SUBMITTED, "
    "others nothing",
    "[applications]") {
  Office o;
  const uint64_t draft = o.InStatus(wire::APPLICATION_STATUS_DRAFT);
  const uint64_t deleted = o.InStatus(wire::APPLICATION_STATUS_DELETED);
  const uint64_t submitted = o.InStatus(wire::APPLICATION_STATUS_SUBMITTED);
  for (const char* user : {kSupplier, kSupplierUser}) {
    for (uint64_t id : {draft, deleted, submitted}) CHECK(o.Get(user, id).status.ok());
  }
  for (const char* user : {kAnalyst, kDirector}) {
    CHECK(o.Get(user, draft).status.error_code() == StatusCode::NOT_FOUND);
    CHECK(o.Get(user, deleted).status.error_code() == StatusCode::NOT_FOUND);
    CHECK(o.Get(user, submitted).status.ok());
    std::vector<wire::SalesRecord> records;
    CHECK(o.Records(user, draft, wire::RECORD_FILTER_UNSPECIFIED, &records).error_code() ==
          StatusCode::NOT_FOUND);
    CHECK(o.Records(user, submitted, wire::RECORD_FILTER_UNSPECIFIED, &records).ok());
  }
  for (uint64_t id : {draft, deleted, submitted}) {
    CHECK(o.Get(kOtherSupplier, id).status.error_code() == StatusCode::NOT_FOUND);
    std::vector<wire::SalesRecord> records;
    CHECK(o.Records(kOtherSupplier, id, wire::RECORD_FILTER_UNSPECIFIED, &records).error_code() ==
          StatusCode::NOT_FOUND);
  }
  CHECK(o.Get(kSupplier, 999999).status.error_code() == StatusCode::NOT_FOUND);
  // Listings: DELETED left out unless asked for; government never sees DRAFT or DELETED.
  std::vector<uint64_t> ids;
  REQUIRE(o.List(kSupplier, {}, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{draft, submitted});
  ids.clear();
  wire::ListApplicationsRequest deleted_only;
  deleted_only.add_statuses(wire::APPLICATION_STATUS_DELETED);
  REQUIRE(o.List(kSupplier, deleted_only, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{deleted});
  ids.clear();
  REQUIRE(o.List(kAnalyst, {}, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{submitted});
  ids.clear();
  REQUIRE(o.List(kOtherSupplier, {}, &ids).ok());
  CHECK(ids.empty());
  wire::ListApplicationsRequest theirs;
  theirs.set_organization_id(o.vs1);
  CHECK(o.List(kOtherSupplier, theirs, &ids).error_code() == StatusCode::PERMISSION_DENIED);
  ids.clear();
  REQUIRE(o.List(kDirector, theirs, &ids).ok());
  CHECK(ids == std::vector<uint64_t>{submitted});
  // Government may not create.
  CHECK(o.Create(kAnalyst).status.error_code() == StatusCode::PERMISSION_DENIED);
}

TEST_CASE(
    "applications idempotency: a replayed request returns the stored answer and changes nothing",
    "[applications]") {
  Office o;
  const uint64_t id = o.InStatus(wire::APPLICATION_STATUS_RECOMMENDED_APPROVAL);
  auto first = o.Act(kDirector, id, wire::APPLICATION_ACTION_VALIDATE, 0, "validate-once");
  REQUIRE(first.status.ok());
  auto again = o.Act(kDirector, id, wire::APPLICATION_ACTION_VALIDATE, 0, "validate-once");
  REQUIRE(again.status.ok());
  CHECK(again.application.version() == first.application.version());
  auto reused = o.Act(kDirector, id, wire::APPLICATION_ACTION_REJECT, 0, "validate-once");
  CHECK(reused.status.error_code() == StatusCode::ALREADY_EXISTS);
  CHECK(ErrorReason(reused.status) == "IDEMPOTENCY_KEY_REUSED");
  // Nothing included (no registrations): VALIDATED without a journal.
  CHECK(first.application.journal_id() == 0);
  CHECK(Sql(o.db(), "SELECT count(*) FROM credit_journals") == "0");
  CHECK(o.Violations().empty());
}

TEST_CASE(
    "exactly once: two suppliers' applications holding one VIN, validated at the same "
    "instant, 20 rounds",
    "[applications]") {
  Office o;
  for (int round = 0; round < 20; ++round) {
    const std::string shared = o.NewVin();
    const std::string own1 = o.NewVin(), own2 = o.NewVin();
    const uint64_t a = o.Create(kSupplier).application.id();
    const uint64_t b = o.Create(kOtherSupplier).application.id();
    REQUIRE(o.Add(kSupplier, a, {{shared, o.car1}, {own1, o.car1}}).status.ok());
    REQUIRE(o.Add(kOtherSupplier, b, {{shared, o.car2}, {own2, o.car2}}).status.ok());
    o.Step(kSupplier, a, wire::APPLICATION_ACTION_SUBMIT);
    o.Step(kOtherSupplier, b, wire::APPLICATION_ACTION_SUBMIT);
    for (uint64_t id : {a, b}) {
      o.Step(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
      o.IncludeAll(id);  // the shared VIN warns VIN_IN_OTHER_APPLICATION; included anyway
      o.Step(kAnalyst, id, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL);
    }
    const int64_t before1 = o.Posted(o.vs1), before2 = o.Posted(o.vs2);
    std::atomic<int> ready{0};
    AppAnswer ra, rb;
    auto validate = [&](uint64_t id, AppAnswer* out) {
      ++ready;
      while (ready.load() < 2) {
      }
      *out = o.Act(kDirector, id, wire::APPLICATION_ACTION_VALIDATE);
    };
    std::thread ta(validate, a, &ra);
    std::thread tb(validate, b, &rb);
    ta.join();
    tb.join();
    INFO("round " << round << ": " << ra.status.error_message() << " / "
                  << rb.status.error_message());
    REQUIRE(ra.status.ok() != rb.status.ok());
    const AppAnswer& loser = ra.status.ok() ? rb : ra;
    const uint64_t lost = ra.status.ok() ? b : a;
    CHECK(loser.status.error_code() == StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(loser.status) == "VIN_ALREADY_AWARDED");
    CHECK(ErrorMetadata(loser.status, "vins") == shared);
    auto after = o.Get(kDirector, lost).application;
    CHECK(after.status() == wire::APPLICATION_STATUS_RECOMMENDED_APPROVAL);
    CHECK(after.journal_id() == 0);
    CHECK(Sql(o.db(), "SELECT count(*) FROM awarded_vins WHERE application_id = " +
                          std::to_string(lost)) == "0");
    CHECK(Sql(o.db(), "SELECT count(*) FROM awarded_vins WHERE vin = '" + shared + "'") == "1");
    // The winner issued 2 x 2.36; the loser nothing.
    CHECK(o.Posted(o.vs1) + o.Posted(o.vs2) == before1 + before2 + 472);
    REQUIRE(o.Violations().empty());
  }
}

TEST_CASE("applications: a replay answers with the stored response after later changes",
          "[applications]") {
  Office o;
  const std::string footprint_sql =
      "SELECT (SELECT string_agg(version::text, ',' ORDER BY id) FROM credit_applications) || "
      "'/' || (SELECT count(*) FROM credit_application_history) || '/' || "
      "(SELECT count(*) FROM credit_application_records) || '/' || (SELECT count(*) FROM "
      "outbox_events)";
  auto created = o.Create(kSupplier, "filed", "app-create");
  REQUIRE(created.status.ok());
  const uint64_t id = created.application.id();
  const std::vector<Record> records = {{o.NewVin(), o.car1}, {o.NewVin(), o.car1}};
  auto added = o.Add(kSupplier, id, records, 0, "app-add");
  INFO(added.status.error_message());
  REQUIRE(added.status.ok());
  std::vector<wire::SalesRecord> stored;
  REQUIRE(o.Records(kSupplier, id, wire::RECORD_FILTER_UNSPECIFIED, &stored).ok());
  REQUIRE(stored.size() == 2);
  auto removed = o.Remove(kSupplier, id, {stored[1].id()}, "app-remove");
  REQUIRE(removed.status.ok());
  auto submitted = o.Act(kSupplier, id, wire::APPLICATION_ACTION_SUBMIT, 0, "app-submit");
  REQUIRE(submitted.status.ok());
  o.Step(kAnalyst, id, wire::APPLICATION_ACTION_CHECK);
  auto decided = o.Decide(kAnalyst, id, {{stored[0].id(), true, "seen the invoice"}}, "app-decide");
  INFO(decided.status.error_message());
  REQUIRE(decided.status.ok());
  // A later change of the same application.
  o.Step(kAnalyst, id, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL);
  const std::string footprint = Sql(o.db(), footprint_sql);

  CHECK(WireBytes(o.Create(kSupplier, "filed", "app-create").application) ==
        WireBytes(created.application));
  CHECK(WireBytes(o.Add(kSupplier, id, records, 0, "app-add").application) ==
        WireBytes(added.application));
  CHECK(WireBytes(o.Remove(kSupplier, id, {stored[1].id()}, "app-remove").application) ==
        WireBytes(removed.application));
  auto submit_again = o.Act(kSupplier, id, wire::APPLICATION_ACTION_SUBMIT, 0, "app-submit");
  REQUIRE(submit_again.status.ok());
  CHECK(submit_again.application.status() == wire::APPLICATION_STATUS_SUBMITTED);
  CHECK(WireBytes(submit_again.application) == WireBytes(submitted.application));
  CHECK(WireBytes(o.Decide(kAnalyst, id, {{stored[0].id(), true, "seen the invoice"}}, "app-decide")
                      .application) == WireBytes(decided.application));
  // The replays changed nothing.
  CHECK(Sql(o.db(), footprint_sql) == footprint);
  CHECK(o.Get(kAnalyst, id).application.status() == wire::APPLICATION_STATUS_RECOMMENDED_APPROVAL);
  CHECK(o.Violations().empty());
}

TEST_CASE(
    "exactly once: 20 concurrent VALIDATEs of one application post one journal; "
    "reversing it returns the credits and keeps the VINs awarded",
    "[applications]") {
  Office o;
  const std::string a = o.NewVin(), b = o.NewVin();
  o.Register({{a, "Tesla", 2021}, {b, "Tesla", 2021}});
  const uint64_t id =
      o.InStatus(wire::APPLICATION_STATUS_RECOMMENDED_APPROVAL, {{a, o.car1}, {b, o.car1}});
  std::atomic<int> ready{0};
  std::vector<AppAnswer> answers(20);
  std::vector<std::thread> callers;
  for (int i = 0; i < 20; ++i) {
    callers.emplace_back([&, i] {
      ++ready;
      while (ready.load() < 20) {
      }
      answers[i] = o.Act(kDirector, id, wire::APPLICATION_ACTION_VALIDATE);
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
  CHECK(Sql(o.db(), "SELECT count(*) FROM credit_journals WHERE application_id = " +
                        std::to_string(id)) == "1");
  CHECK(o.Posted(o.vs1) == 472);
  REQUIRE(o.Violations().empty());

  const uint64_t journal = o.Get(kDirector, id).application.journal_id();
  credits::ReverseJournalRequest reverse;
  reverse.set_idempotency_key(o.Key());
  reverse.set_journal_id(journal);
  reverse.set_reason("filed in error");
  auto reversed = o.ledger.Reverse(kDirector, reverse);
  INFO(reversed.status.error_message());
  REQUIRE(reversed.status.ok());
  CHECK(o.Posted(o.vs1) == 0);
  CHECK(Sql(o.db(), "SELECT count(*) FROM awarded_vins WHERE application_id = " +
                        std::to_string(id)) == "2");
  CHECK(o.Get(kSupplier, id).application.status() == wire::APPLICATION_STATUS_VALIDATED);
  // The VINs stay awarded: a new application with one warns and cannot include it.
  const uint64_t again = o.InStatus(wire::APPLICATION_STATUS_CHECKED, {{a, o.car1}});
  auto record = o.RecordsOf(again)[0];
  CHECK(std::vector<int>(record.warnings().begin(), record.warnings().end()) ==
        std::vector<int>{wire::RECORD_WARNING_VIN_ALREADY_AWARDED});
  CHECK(ErrorReason(o.Decide(kAnalyst, again, {{record.id(), true, "sure"}}).status) ==
        "VIN_ALREADY_AWARDED");
  // The database refuses a second award whatever the service does.
  CHECK_THROWS(Sql(o.db(), "INSERT INTO awarded_vins (vin, application_id) VALUES ('" + a + "', " +
                               std::to_string(again) + ")"));
  CHECK_THROWS(Sql(o.db(), "DELETE FROM awarded_vins"));
  CHECK(o.Violations().empty());
}

TEST_CASE(
    "every application event reaches RabbitMQ through zeva-worker, with one notification per "
    "recipient of the contract's table",
    "[applications]") {
  using namespace std::chrono_literals;
  RabbitMqServer broker;
  Office o;
  // Bound like the frontend's (notifications) and a downstream service's (every event).
  AmqpTestConsumer notifications{broker.url(), "notifications", "fanout", "frontend", ""};
  AmqpTestConsumer events{broker.url(), "zeva.events", "topic", "all-events", "#"};
  auto worker = ServerProcess::Worker({{"DATABASE_URL", o.db()},
                                       {"RABBITMQ_URL", broker.url()},
                                       {"MAIL_DISABLED", "true"},
                                       {"OUTBOX_POLL_INTERVAL_MS", "200"},
                                       {"RETRY_INITIAL_MS", "100"},
                                       {"RETRY_MAX_MS", "1000"},
                                       {"SHUTDOWN_GRACE_SECONDS", "5"}});
  worker->WaitUntilServing(30s, "zeva.worker");

  // One application along every step with an event (the supplier's ZEVA_USER edits, its
  // SIGNING_AUTHORITY submits); one rejected; one deleted.
  const std::string vin1 = o.NewVin(), vin2 = o.NewVin();
  o.Register({{vin1, "Tesla", 2021}});
  auto created = o.Create(kSupplierUser);
  REQUIRE(created.status.ok());
  const uint64_t id = created.application.id();
  auto added = o.Add(kSupplierUser, id, {{vin1, o.car1}, {vin2, o.car1}});
  REQUIRE(added.status.ok());
  std::vector<wire::SalesRecord> records;
  REQUIRE(o.Records(kSupplierUser, id, wire::RECORD_FILTER_UNSPECIFIED, &records).ok());
  const auto second =
      std::find_if(records.begin(), records.end(), [&](const auto& r) { return r.vin() == vin2; });
  REQUIRE(second != records.end());
  REQUIRE(o.Remove(kSupplierUser, id, {second->id()}).status.ok());
  // Every step with an event, in order (after the CHECK, SetRecordDecisions: IncludeAll).
  const std::vector<std::pair<std::string, wire::ApplicationAction>> steps{
      {kSupplier, wire::APPLICATION_ACTION_SUBMIT},
      {kAnalyst, wire::APPLICATION_ACTION_RETURN_TO_SUPPLIER},
      {kSupplier, wire::APPLICATION_ACTION_SUBMIT},
      {kAnalyst, wire::APPLICATION_ACTION_CHECK},
      {kAnalyst, wire::APPLICATION_ACTION_RECOMMEND_REJECTION},
      {kDirector, wire::APPLICATION_ACTION_RETURN_TO_ANALYST},
      {kAnalyst, wire::APPLICATION_ACTION_RECOMMEND_APPROVAL},
      {kDirector, wire::APPLICATION_ACTION_VALIDATE}};
  for (const auto& [user, action] : steps) {
    o.Step(user, id, action);
    if (action == wire::APPLICATION_ACTION_CHECK) o.IncludeAll(id);
  }
  const uint64_t rejected = o.InStatus(wire::APPLICATION_STATUS_REJECTED);
  const uint64_t deleted = o.InStatus(wire::APPLICATION_STATUS_DELETED);

  // The contract's table (the acting user never notified): each event in commit order, with
  // its application and recipients.
  const std::set<std::string> none, analysts{kAnalyst}, directors{kDirector},
      supplier{kSupplier, kSupplierUser};
  struct Expected {
    std::string type;
    uint64_t application;
    std::set<std::string> recipients;
  };
  const std::string e = "credits.application.";
  std::vector<Expected> expected{{e + "created", id, none},
                                 {e + "updated", id, none},
                                 {e + "updated", id, none},
                                 {e + "submitted", id, analysts},
                                 {e + "returned_to_supplier", id, supplier},
                                 {e + "submitted", id, analysts},
                                 {e + "checked", id, none},
                                 {e + "updated", id, none},
                                 {e + "recommended_rejection", id, directors},
                                 {e + "returned_to_analyst", id, analysts},
                                 {e + "recommended_approval", id, directors},
                                 {e + "validated", id, supplier}};
  for (const std::string step :
       {"created", "updated", "submitted", "checked", "recommended_rejection", "rejected"}) {
    expected.push_back({e + step, rejected,
                        step == "submitted"               ? analysts
                        : step == "recommended_rejection" ? directors
                        : step == "rejected"              ? supplier
                                                          : none});
  }
  for (const std::string step : {"created", "updated", "deleted"}) {
    expected.push_back({e + step, deleted, none});
  }
  size_t recipients = 0;
  for (const auto& x : expected) recipients += x.recipients.size();

  // The outbox holds exactly these (VALIDATE: no journal event of its own), in this order.
  const auto stored = nlohmann::json::parse(
      Sql(o.db(),
          "SELECT coalesce(json_agg(json_build_array(id, event_type, application_id) "
          "ORDER BY seq), '[]')::text FROM outbox_events"));
  REQUIRE(stored.size() == expected.size());
  std::map<std::string, const Expected*> by_id;
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("event " << i);
    CHECK(stored[i][1] == expected[i].type);
    CHECK(stored[i][2] == expected[i].application);
    by_id[stored[i][0].get<std::string>()] = &expected[i];
  }

  // On RabbitMQ: every event once, on its routing key, naming its application; a notification
  // per recipient, message_id "<event UUID>.<username>"; nothing else.
  const auto published = events.WaitFor(expected.size(), 30s);
  const auto notes = notifications.WaitFor(recipients, 30s);
  CHECK(events.Drain(300ms).size() == expected.size());
  CHECK(notifications.Drain(300ms).size() == recipients);
  std::set<std::string> seen;
  for (const auto& m : published) {
    INFO(m.body);
    REQUIRE(by_id.count(m.message_id) == 1);
    const Expected& x = *by_id[m.message_id];
    CHECK(seen.insert(m.message_id).second);
    CHECK(m.routing_key == x.type);
    CHECK(m.delivery_mode == 2);
    const auto body = nlohmann::json::parse(m.body);
    CHECK(body["event_id"] == m.message_id);
    CHECK(body["event_type"] == x.type);
    CHECK(body["application_id"] == x.application);
    CHECK(body["recipients"].get<std::set<std::string>>() == x.recipients);
  }
  CHECK(seen.size() == expected.size());
  std::map<std::string, std::multiset<std::string>> audiences;
  for (const auto& m : notes) {
    const std::string event_id = m.message_id.substr(0, 36);
    const std::string audience = nlohmann::json::parse(m.body)["audience"].get<std::string>();
    CHECK(m.message_id == event_id + "." + audience);
    audiences[event_id].insert(audience);
  }
  for (const auto& [event_id, x] : by_id) {
    INFO(x->type << " of application " << x->application);
    CHECK(std::set<std::string>(audiences[event_id].begin(), audiences[event_id].end()) ==
          x->recipients);
    CHECK(audiences[event_id].size() == x->recipients.size());
  }
}
