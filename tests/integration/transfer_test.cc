// Credit transfers through the real server and generated clients: the happy path, every
// refused (status, action, caller), visibility, and the races that must not double-spend.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "domain/transfer_workflow.h"
#include "tests/support/ledger_client.h"
#include "tests/support/service_fixture.h"
#include "tests/support/wait_until.h"

using namespace zeva::testing;
using grpc::StatusCode;

namespace {

constexpr uint32_t kYear = 2021;

struct Market {
  // Races here are between callers of one user: the per-user pool share would refuse some
  // of them RESOURCE_EXHAUSTED (tested in [hardening]); these tests are about the ledger.
  ServiceFixture service{{"--db-pool-caller-share-percent=100", "--db-acquire-timeout-ms=10000"}};
  LedgerClient ledger{service};
  uint64_t vs1 = OrganizationId(service.database_url(), "Test Vehicle Supplier 1");
  uint64_t vs2 = OrganizationId(service.database_url(), "Test Vehicle Supplier 2");
  uint64_t vs3 = OrganizationId(service.database_url(), "Test Vehicle Supplier 3");
  int keys = 0;

  std::unique_ptr<credits::CreditTransferService::Stub> Stub() {
    return credits::CreditTransferService::NewStub(service.channel());
  }
  std::string Key() { return "key-" + std::to_string(++keys); }

  void Fund(uint64_t organization, int64_t hundredths) {
    REQUIRE(ledger.AdjustOne(Key(), organization, kYear, credits::CREDIT_CLASS_A, hundredths)
                .status.ok());
  }

  TransferAnswer Create(const std::string& user, uint64_t to, int64_t hundredths,
                        uint64_t price = 0) {
    return ledger.CreateTransfer(user, Key(), to, TransferLine{kYear, hundredths, price}, "offer");
  }

  TransferAnswer Act(const std::string& user, uint64_t id, credits::TransferAction action,
                     const std::string& key = "", uint32_t expected_version = 0) {
    return ledger.Transition(user, key.empty() ? Key() : key, id, action, expected_version,
                             std::string("by ") + user);
  }

  TransferAnswer Update(const std::string& user, const std::string& key, uint64_t id, uint64_t to,
                        int64_t hundredths) {
    credits::UpdateTransferRequest request;
    request.set_idempotency_key(key);
    request.set_transfer_id(id);
    request.set_to_organization_id(to);
    auto* line = request.add_lines();
    line->set_model_year(kYear);
    line->set_credit_class(credits::CREDIT_CLASS_A);
    line->mutable_amount()->set_hundredths(hundredths);
    auto context = service.ContextFor(user);
    TransferAnswer answer;
    answer.status = Stub()->UpdateTransfer(context.get(), request, &answer.transfer);
    return answer;
  }

  // What a transfer's changes left: its version, history and events, and every journal.
  std::string Footprint(uint64_t id) {
    return Sql(service.database_url(),
               "SELECT (SELECT version FROM credit_transfers WHERE id = " + std::to_string(id) +
                   ") || '/' || (SELECT count(*) FROM credit_transfer_history) || '/' || "
                   "(SELECT count(*) FROM outbox_events) || '/' || "
                   "(SELECT count(*) FROM credit_journals)");
  }

  TransferAnswer Get(const std::string& user, uint64_t id) {
    credits::GetTransferRequest request;
    request.set_transfer_id(id);
    auto context = service.ContextFor(user);
    TransferAnswer answer;
    answer.status = Stub()->GetTransfer(context.get(), request, &answer.transfer);
    return answer;
  }

  std::vector<uint64_t> List(const std::string& user) {
    auto context = service.ContextFor(user);
    auto reader = Stub()->ListTransfers(context.get(), {});
    credits::Transfer t;
    std::vector<uint64_t> ids;
    while (reader->Read(&t)) ids.push_back(t.id());
    REQUIRE(reader->Finish().ok());
    return ids;
  }

  credits::Balance Balance(uint64_t organization) {
    credits::GetBalancesResponse balances;
    REQUIRE(ledger.Balances("test_gov_1", organization, &balances).ok());
    for (const auto& b : balances.balances()) {
      if (b.model_year() == kYear && b.credit_class() == credits::CREDIT_CLASS_A) return b;
    }
    return {};
  }

  // A transfer of 1.00 from vs1 to vs2 driven to `status` along the table.
  uint64_t InStatus(credits::TransferStatus status) {
    using T = credits::TransferStatus;
    auto created = Create("test_vs_1", vs2, 100);
    REQUIRE(created.status.ok());
    const uint64_t id = created.transfer.id();
    auto step = [&](const std::string& user, credits::TransferAction action) {
      auto answer = Act(user, id, action);
      INFO(answer.status.error_message());
      REQUIRE(answer.status.ok());
    };
    if (status == T::TRANSFER_STATUS_DRAFT) return id;
    if (status == T::TRANSFER_STATUS_DELETED) {
      step("test_vs_1", credits::TRANSFER_ACTION_DELETE);
      return id;
    }
    step("test_vs_1", credits::TRANSFER_ACTION_SUBMIT);
    if (status == T::TRANSFER_STATUS_SUBMITTED) return id;
    if (status == T::TRANSFER_STATUS_DECLINED) {
      step("test_vs_2", credits::TRANSFER_ACTION_DECLINE);
      return id;
    }
    if (status == T::TRANSFER_STATUS_RESCINDED) {
      step("test_vs_2", credits::TRANSFER_ACTION_RESCIND);
      return id;
    }
    step("test_vs_2", credits::TRANSFER_ACTION_ACCEPT);
    if (status == T::TRANSFER_STATUS_ACCEPTED) return id;
    if (status == T::TRANSFER_STATUS_RECOMMENDED_REJECTION ||
        status == T::TRANSFER_STATUS_REJECTED) {
      step("test_gov_1", credits::TRANSFER_ACTION_RECOMMEND_REJECTION);
      if (status == T::TRANSFER_STATUS_REJECTED) {
        step("test_gov_director", credits::TRANSFER_ACTION_REJECT);
      }
      return id;
    }
    step("test_gov_1", credits::TRANSFER_ACTION_RECOMMEND_APPROVAL);
    if (status == T::TRANSFER_STATUS_RECOMMENDED_APPROVAL) return id;
    step("test_gov_director", credits::TRANSFER_ACTION_RECORD);
    return id;
  }
};

}  // namespace

TEST_CASE("the happy path: one journal, the reservation consumed, one history row per step",
          "[transfer]") {
  Market m;
  m.Fund(m.vs1, 1000);
  auto created = m.Create("test_vs_1_user", m.vs2, 250, 1999);
  INFO(created.status.error_message());
  REQUIRE(created.status.ok());
  const credits::Transfer& draft = created.transfer;
  CHECK(draft.status() == credits::TRANSFER_STATUS_DRAFT);
  CHECK(draft.version() == 1);
  CHECK(draft.from_organization_name() == "Test Vehicle Supplier 1");
  CHECK(draft.to_organization_name() == "Test Vehicle Supplier 2");
  CHECK(draft.total_value_cents() == 4998);  // 2.50 x $19.99 = $49.975 -> $49.98
  REQUIRE(draft.history_size() == 1);
  CHECK(draft.history(0).seq() == 1);
  CHECK(draft.history(0).to_status() == credits::TRANSFER_STATUS_DRAFT);
  CHECK(draft.history(0).comment() == "offer");
  // A ZEVA_USER may delete but not submit.
  CHECK(std::vector<int>(draft.allowed_actions().begin(), draft.allowed_actions().end()) ==
        std::vector<int>{credits::TRANSFER_ACTION_DELETE});
  CHECK(m.Act("test_vs_1_user", draft.id(), credits::TRANSFER_ACTION_SUBMIT).status.error_code() ==
        StatusCode::PERMISSION_DENIED);

  auto submitted = m.Act("test_vs_1", draft.id(), credits::TRANSFER_ACTION_SUBMIT, "", 1);
  REQUIRE(submitted.status.ok());
  CHECK(submitted.transfer.version() == 2);
  CHECK(m.Balance(m.vs1).reserved().hundredths() == 250);
  CHECK(m.Balance(m.vs1).available().hundredths() == 750);
  REQUIRE(m.Act("test_vs_2", draft.id(), credits::TRANSFER_ACTION_ACCEPT).status.ok());
  REQUIRE(m.Act("test_gov_1", draft.id(), credits::TRANSFER_ACTION_RECOMMEND_APPROVAL).status.ok());
  auto recorded = m.Act("test_gov_director", draft.id(), credits::TRANSFER_ACTION_RECORD);
  INFO(recorded.status.error_message());
  REQUIRE(recorded.status.ok());
  const credits::Transfer& done = recorded.transfer;
  CHECK(done.status() == credits::TRANSFER_STATUS_RECORDED);
  CHECK(done.version() == 5);
  CHECK(done.journal_id() != 0);
  CHECK(done.allowed_actions_size() == 0);
  REQUIRE(done.history_size() == 5);
  CHECK(done.history(4).action() == credits::TRANSFER_ACTION_RECORD);
  CHECK(done.history(4).from_status() == credits::TRANSFER_STATUS_RECOMMENDED_APPROVAL);
  CHECK(done.history(4).actor() == "test_gov_director");
  CHECK(done.history(2).comment() == "by test_vs_2");

  CHECK(m.Balance(m.vs1).posted().hundredths() == 750);
  CHECK(m.Balance(m.vs1).reserved().hundredths() == 0);
  CHECK(m.Balance(m.vs2).posted().hundredths() == 250);
  auto journal = m.ledger.Journal("test_gov_1", done.journal_id());
  REQUIRE(journal.status.ok());
  CHECK(journal.journal.kind() == credits::JOURNAL_KIND_TRANSFER);
  CHECK(journal.journal.reference() == "transfer/" + std::to_string(done.id()));
  CHECK(journal.journal.entries_size() == 2);
  CHECK(Sql(m.service.database_url(),
            "SELECT count(*) FROM credit_journals WHERE kind = "
            "'TRANSFER'") == "1");
  // A replay of the RECORD returns the transfer and posts nothing more.
  CHECK(LedgerViolations(m.service.database_url()).empty());
}

TEST_CASE("every (status, action, caller) outside the table is refused and changes nothing",
          "[transfer]") {
  Market m;
  m.Fund(m.vs1, 10000);
  struct Who {
    const char* user;
    bool government;
    uint64_t organization;
    std::vector<std::string> roles;
  };
  const std::vector<Who> callers = {{"test_vs_1", false, m.vs1, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
                                    {"test_vs_1_user", false, m.vs1, {"ZEVA_USER"}},
                                    {"test_vs_2", false, m.vs2, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
                                    {"test_vs_3", false, m.vs3, {"SIGNING_AUTHORITY", "ZEVA_USER"}},
                                    {"test_gov_1", true, 0, {"ENGINEER_ANALYST"}},
                                    {"test_gov_director", true, 0, {"DIRECTOR"}}};
  int refused = 0;
  for (int s = 1; s <= 10; ++s) {
    const auto status = static_cast<credits::TransferStatus>(s);
    const uint64_t id = m.InStatus(status);
    const std::string before = Sql(m.service.database_url(),
                                   "SELECT status || '/' || version FROM credit_transfers "
                                   "WHERE id = " +
                                       std::to_string(id));
    for (int a = 1; a <= 10; ++a) {
      for (const Who& who : callers) {
        const auto party =
            zeva::domain::PartyOf(who.government, static_cast<int64_t>(who.organization),
                                  static_cast<int64_t>(m.vs1), static_cast<int64_t>(m.vs2));
        const auto domain_status = static_cast<zeva::domain::TransferStatus>(s);
        StatusCode expected = StatusCode::OK;
        if (!zeva::domain::MaySee(party, domain_status)) {
          expected = StatusCode::NOT_FOUND;
        } else {
          auto decided =
              zeva::domain::Decide(domain_status, static_cast<zeva::domain::TransferAction>(a),
                                   party, who.government, who.roles);
          if (decided.ok()) continue;  // allowed: it would change the transfer
          expected = static_cast<StatusCode>(decided.status().code());
        }
        auto answer = m.Act(who.user, id, static_cast<credits::TransferAction>(a));
        INFO(who.user << " " << credits::TransferAction_Name(a) << " on "
                      << credits::TransferStatus_Name(s) << ": " << answer.status.error_message());
        CHECK(answer.status.error_code() == expected);
        ++refused;
      }
    }
    CHECK(Sql(m.service.database_url(),
              "SELECT status || '/' || version FROM credit_transfers "
              "WHERE id = " +
                  std::to_string(id)) == before);
  }
  WARN(refused << " refused (status, action, caller) triples tried through the server");
  // The named ones: a supplier trying RECORD, a buyer trying SUBMIT.
  const uint64_t approved = m.InStatus(credits::TRANSFER_STATUS_RECOMMENDED_APPROVAL);
  CHECK(m.Act("test_vs_1", approved, credits::TRANSFER_ACTION_RECORD).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  const uint64_t draft = m.InStatus(credits::TRANSFER_STATUS_DRAFT);
  CHECK(m.Act("test_vs_2", draft, credits::TRANSFER_ACTION_SUBMIT).status.error_code() ==
        StatusCode::NOT_FOUND);  // the buyer cannot see a DRAFT at all
  const uint64_t submitted = m.InStatus(credits::TRANSFER_STATUS_SUBMITTED);
  auto again = m.Act("test_vs_2", submitted, credits::TRANSFER_ACTION_SUBMIT);
  CHECK(again.status.error_code() == StatusCode::PERMISSION_DENIED);
  auto twice = m.Act("test_vs_1", submitted, credits::TRANSFER_ACTION_SUBMIT);
  CHECK(twice.status.error_code() == StatusCode::FAILED_PRECONDITION);
  CHECK(ErrorReason(twice.status) == "INVALID_STATUS");
  // A stale version: ABORTED, VERSION_MISMATCH.
  auto stale = m.Act("test_vs_2", submitted, credits::TRANSFER_ACTION_ACCEPT, "", 1);
  CHECK(stale.status.error_code() == StatusCode::ABORTED);
  CHECK(ErrorReason(stale.status) == "VERSION_MISMATCH");
  CHECK(LedgerViolations(m.service.database_url()).empty());
}

TEST_CASE("visibility: drafts are the seller's, others see nothing at all", "[transfer]") {
  Market m;
  m.Fund(m.vs1, 1000);
  const uint64_t draft = m.InStatus(credits::TRANSFER_STATUS_DRAFT);
  const uint64_t deleted = m.InStatus(credits::TRANSFER_STATUS_DELETED);
  const uint64_t submitted = m.InStatus(credits::TRANSFER_STATUS_SUBMITTED);
  for (uint64_t id : {draft, deleted}) {
    CHECK(m.Get("test_vs_1", id).status.ok());
    CHECK(m.Get("test_vs_2", id).status.error_code() == StatusCode::NOT_FOUND);
    CHECK(m.Get("test_gov_1", id).status.error_code() == StatusCode::NOT_FOUND);
    CHECK(m.Get("test_gov_director", id).status.error_code() == StatusCode::NOT_FOUND);
  }
  for (uint64_t id : {draft, deleted, submitted, uint64_t{987654}}) {
    CHECK(m.Get("test_vs_3", id).status.error_code() == StatusCode::NOT_FOUND);
  }
  auto seen = m.Get("test_vs_2", submitted);
  REQUIRE(seen.status.ok());
  CHECK(seen.transfer.history_size() == 2);  // the whole history, comments included
  CHECK(m.List("test_vs_1") == std::vector<uint64_t>{draft, submitted});  // DELETED left out
  CHECK(m.List("test_vs_2") == std::vector<uint64_t>{submitted});
  CHECK(m.List("test_gov_1") == std::vector<uint64_t>{submitted});
  CHECK(m.List("test_vs_3").empty());
  // Suppliers to choose from: every other supplier, by name.
  auto context = m.service.ContextFor("test_vs_1");
  auto reader = m.Stub()->ListSuppliers(context.get(), {});
  credits::Organization organization;
  std::vector<std::string> names;
  while (reader->Read(&organization)) names.push_back(organization.name());
  REQUIRE(reader->Finish().ok());
  CHECK(names == std::vector<std::string>{"Test Vehicle Supplier 2", "Test Vehicle Supplier 3"});
}

TEST_CASE("50 concurrent SUBMITs of 1.00 against 10.00: exactly 10 reserve", "[transfer]") {
  Market m;
  m.Fund(m.vs1, 1000);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 50; ++i) {
    auto created = m.Create("test_vs_1", m.vs2, 100);
    REQUIRE(created.status.ok());
    ids.push_back(created.transfer.id());
  }
  std::vector<TransferAnswer> results(50);
  std::vector<std::thread> callers;
  for (int i = 0; i < 50; ++i) {
    callers.emplace_back([&, i] {
      results[i] = m.Act("test_vs_1", ids[i], credits::TRANSFER_ACTION_SUBMIT,
                         "submit-" + std::to_string(i));
    });
  }
  for (auto& caller : callers) caller.join();
  int submitted = 0;
  int short_of_credits = 0;
  for (const auto& r : results) {
    if (r.status.ok()) ++submitted;
    if (r.status.error_code() == StatusCode::FAILED_PRECONDITION &&
        ErrorReason(r.status) == "INSUFFICIENT_CREDITS") {
      ++short_of_credits;
    }
  }
  CHECK(submitted == 10);
  CHECK(short_of_credits == 40);
  CHECK(m.Balance(m.vs1).reserved().hundredths() == 1000);
  CHECK(m.Balance(m.vs1).available().hundredths() == 0);
  CHECK(Sql(m.service.database_url(),
            "SELECT count(*) FROM credit_transfers WHERE status = 'SUBMITTED'") == "10");
  CHECK(LedgerViolations(m.service.database_url()).empty());
}

TEST_CASE("two directors racing RECORD post one journal; RESCIND racing RECORD, one wins",
          "[transfer]") {
  Market m;
  // 11 transfers of 1.00 may all be recorded (one, then ten races RECORD may all win).
  m.Fund(m.vs1, 1100);
  Sql(m.service.database_url(),
      "INSERT INTO users (username, organization_id, email) SELECT 'test_gov_director_2', id, "
      "'d2@example.test' FROM organizations WHERE organization_type = 'GOVERNMENT';"
      "INSERT INTO user_roles VALUES ('test_gov_director_2', 'DIRECTOR')");
  const uint64_t id = m.InStatus(credits::TRANSFER_STATUS_RECOMMENDED_APPROVAL);
  std::vector<TransferAnswer> results(20);
  std::vector<std::thread> callers;
  for (int i = 0; i < 20; ++i) {
    callers.emplace_back([&, i] {
      results[i] = m.Act(i % 2 == 0 ? "test_gov_director" : "test_gov_director_2", id,
                         credits::TRANSFER_ACTION_RECORD, "record-" + std::to_string(i));
    });
  }
  for (auto& caller : callers) caller.join();
  int recorded = 0;
  for (const auto& r : results) {
    if (r.status.ok())
      ++recorded;
    else
      CHECK(ErrorReason(r.status) == "INVALID_STATUS");
  }
  CHECK(recorded == 1);
  CHECK(Sql(m.service.database_url(),
            "SELECT count(*) FROM credit_journals WHERE kind = 'TRANSFER'") == "1");
  CHECK(m.Balance(m.vs2).posted().hundredths() == 100);
  CHECK(LedgerViolations(m.service.database_url()).empty());

  // RESCIND (seller) against RECORD (director), started together, ten times over.
  for (int round = 0; round < 10; ++round) {
    const uint64_t raced = m.InStatus(credits::TRANSFER_STATUS_RECOMMENDED_APPROVAL);
    TransferAnswer rescind;
    TransferAnswer record;
    std::thread a([&] { rescind = m.Act("test_vs_1", raced, credits::TRANSFER_ACTION_RESCIND); });
    std::thread b(
        [&] { record = m.Act("test_gov_director", raced, credits::TRANSFER_ACTION_RECORD); });
    a.join();
    b.join();
    INFO(rescind.status.error_message() << " / " << record.status.error_message());
    CHECK(rescind.status.ok() != record.status.ok());  // exactly one of the two
    const std::string status =
        Sql(m.service.database_url(),
            "SELECT status FROM credit_transfers WHERE id = " + std::to_string(raced));
    CHECK(status == (record.status.ok() ? "RECORDED" : "RESCINDED"));
  }
  CHECK(LedgerViolations(m.service.database_url()).empty());
  CHECK(m.Balance(m.vs1).reserved().hundredths() == 0);
}

TEST_CASE("malformed transfer requests are INVALID_ARGUMENT naming the field", "[transfer]") {
  Market m;
  auto bad_partner = m.Create("test_vs_1", m.vs1, 100);
  CHECK(bad_partner.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorField(bad_partner.status) == "to_organization_id");
  const uint64_t gov = OrganizationId(m.service.database_url(), "Government of British Columbia");
  CHECK(ErrorField(m.Create("test_vs_1", gov, 100).status) == "to_organization_id");
  CHECK(ErrorField(m.Create("test_vs_1", m.vs2, 0).status) == "lines[0].amount");
  // Government creates nothing.
  CHECK(m.Create("test_gov_director", m.vs2, 100).status.error_code() ==
        StatusCode::PERMISSION_DENIED);
  const uint64_t draft = m.InStatus(credits::TRANSFER_STATUS_DRAFT);
  auto unspecified = m.Act("test_vs_1", draft, credits::TRANSFER_ACTION_UNSPECIFIED);
  CHECK(ErrorField(unspecified.status) == "action");
  credits::TransitionTransferRequest request;
  request.set_idempotency_key("long-comment");
  request.set_transfer_id(draft);
  request.set_action(credits::TRANSFER_ACTION_DELETE);
  request.set_comment(std::string(2001, 'c'));
  auto context = m.service.ContextFor("test_vs_1");
  credits::Transfer out;
  const grpc::Status status = m.Stub()->TransitionTransfer(context.get(), request, &out);
  CHECK(ErrorField(status) == "comment");
  // Updating a DRAFT replaces partner and lines; a SUBMITTED one cannot be updated.
  credits::UpdateTransferRequest update;
  update.set_idempotency_key("update-1");
  update.set_transfer_id(draft);
  update.set_to_organization_id(m.vs3);
  auto* line = update.add_lines();
  line->set_model_year(2022);
  line->set_credit_class(credits::CREDIT_CLASS_B);
  line->mutable_amount()->set_hundredths(75);
  auto update_context = m.service.ContextFor("test_vs_1_user");
  credits::Transfer updated;
  REQUIRE(m.Stub()->UpdateTransfer(update_context.get(), update, &updated).ok());
  CHECK(updated.to_organization_id() == m.vs3);
  CHECK(updated.version() == 2);
  REQUIRE(updated.lines_size() == 1);
  CHECK(updated.lines(0).amount().hundredths() == 75);
}

TEST_CASE("amounts and prices beyond the bounds are refused; totals at the bounds are exact",
          "[transfer][bounds]") {
  Market m;
  // The defect: 10^12 credits at $10M a credit was created, answering OK with a wrapped total.
  auto huge = m.Create("test_vs_1", m.vs2, 100000000000000, 1000000000);
  CHECK(huge.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorField(huge.status) == "lines[0].amount");
  auto over_amount = m.Create("test_vs_1", m.vs2, 100000000001, 1);
  CHECK(ErrorField(over_amount.status) == "lines[0].amount");
  CHECK(over_amount.status.error_message().find("at most 1000000000.00 credits") !=
        std::string::npos);
  auto over_price = m.Create("test_vs_1", m.vs2, 100, 10000001);
  CHECK(over_price.status.error_code() == StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorField(over_price.status) == "lines[0].price_per_credit_cents");
  CHECK(Sql(m.service.database_url(), "SELECT count(*) FROM credit_transfers") == "0");
  // At both bounds: 1,000,000,000.00 credits x $100,000 = $10^14, i.e. 10^16 cents, exactly.
  auto at_bounds = m.Create("test_vs_1", m.vs2, 100000000000, 10000000);
  INFO(at_bounds.status.error_message());
  REQUIRE(at_bounds.status.ok());
  CHECK(at_bounds.transfer.total_value_cents() == 10000000000000000ULL);
  // The database holds new rows to the same bounds, whatever a writer's code does.
  CHECK_THROWS(
      Sql(m.service.database_url(), "UPDATE credit_transfer_lines SET amount = 100000000001"));
  CHECK_THROWS(Sql(m.service.database_url(),
                   "UPDATE credit_transfer_lines SET price_per_credit_cents = 10000001"));
}

TEST_CASE("a replay answers with the stored response, not the transfer as it is now",
          "[transfer]") {
  Market m;
  m.Fund(m.vs1, 1000);
  auto created = m.ledger.CreateTransfer("test_vs_1", "replay-create", m.vs2,
                                         TransferLine{kYear, 100, 0}, "offer");
  REQUIRE(created.status.ok());
  const uint64_t id = created.transfer.id();
  auto updated = m.Update("test_vs_1", "replay-update", id, m.vs3, 150);
  INFO(updated.status.error_message());
  REQUIRE(updated.status.ok());
  auto submitted = m.Act("test_vs_1", id, credits::TRANSFER_ACTION_SUBMIT, "replay-submit");
  REQUIRE(submitted.status.ok());
  REQUIRE(submitted.transfer.status() == credits::TRANSFER_STATUS_SUBMITTED);
  // A later change of the same transfer, by its buyer.
  REQUIRE(m.Act("test_vs_3", id, credits::TRANSFER_ACTION_ACCEPT).status.ok());
  const std::string footprint = m.Footprint(id);

  auto create_again = m.ledger.CreateTransfer("test_vs_1", "replay-create", m.vs2,
                                              TransferLine{kYear, 100, 0}, "offer");
  REQUIRE(create_again.status.ok());
  CHECK(create_again.transfer.status() == credits::TRANSFER_STATUS_DRAFT);
  CHECK(create_again.transfer.version() == 1);
  CHECK(WireBytes(create_again.transfer) == WireBytes(created.transfer));
  auto update_again = m.Update("test_vs_1", "replay-update", id, m.vs3, 150);
  REQUIRE(update_again.status.ok());
  CHECK(WireBytes(update_again.transfer) == WireBytes(updated.transfer));
  auto submit_again = m.Act("test_vs_1", id, credits::TRANSFER_ACTION_SUBMIT, "replay-submit");
  REQUIRE(submit_again.status.ok());
  CHECK(submit_again.transfer.status() == credits::TRANSFER_STATUS_SUBMITTED);
  CHECK(WireBytes(submit_again.transfer) == WireBytes(submitted.transfer));
  // The replays changed nothing.
  CHECK(m.Footprint(id) == footprint);
  CHECK(m.Get("test_vs_1", id).transfer.status() == credits::TRANSFER_STATUS_ACCEPTED);
  CHECK(m.Balance(m.vs1).reserved().hundredths() == 150);
  CHECK(LedgerViolations(m.service.database_url()).empty());
}

TEST_CASE(
    "in-doubt commit: a client that gave up retries with its key and gets the stored "
    "response; a duplicate that waited gets the same; the change happened once",
    "[transfer]") {
  Market m;
  m.Fund(m.vs1, 1000);
  const uint64_t id = m.InStatus(credits::TRANSFER_STATUS_DRAFT);
  const std::string url = m.service.database_url();
  auto waiting = [&](int n) {
    return Sql(url,
               "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
               "datname = current_database() AND pid <> pg_backend_pid()") == std::to_string(n);
  };
  credits::TransitionTransferRequest request;
  request.set_idempotency_key("in-doubt");
  request.set_transfer_id(id);
  request.set_action(credits::TRANSFER_ACTION_SUBMIT);
  request.set_comment("submit");

  // The transfer's row is held, so the SUBMIT waits inside its transaction with its key
  // claimed, and a duplicate waits on that key; the first client gives up (its connection
  // gone, as far as the server can tell); the row is released and the server commits for
  // nobody but the duplicate.
  pqxx::connection holder(url);
  pqxx::work hold(holder);
  hold.exec("SELECT 1 FROM credit_transfers WHERE id = " + std::to_string(id) + " FOR UPDATE");
  auto context = m.service.ContextFor("test_vs_1");
  grpc::Status first;
  std::thread caller([&] {
    credits::Transfer ignored;
    first = m.Stub()->TransitionTransfer(context.get(), request, &ignored);
  });
  REQUIRE(WaitUntil([&] { return waiting(1); }, std::chrono::seconds(10)));
  TransferAnswer duplicate;
  std::thread duplicate_caller([&] {
    auto duplicate_context = m.service.ContextFor("test_vs_1");
    duplicate.status =
        m.Stub()->TransitionTransfer(duplicate_context.get(), request, &duplicate.transfer);
  });
  REQUIRE(WaitUntil([&] { return waiting(2); }, std::chrono::seconds(10)));
  context->TryCancel();
  caller.join();
  CHECK(first.error_code() == StatusCode::CANCELLED);
  hold.commit();
  duplicate_caller.join();
  INFO(duplicate.status.error_message());
  REQUIRE(duplicate.status.ok());
  const std::string key_stored =
      "SELECT count(*) FROM idempotency_records WHERE idempotency_key = 'in-doubt' AND "
      "result_id <> 0";
  REQUIRE(WaitUntil([&] { return Sql(url, key_stored) == "1"; }, std::chrono::seconds(10)));
  // A later change of the same transfer, before the client retries.
  REQUIRE(m.Act("test_vs_2", id, credits::TRANSFER_ACTION_ACCEPT).status.ok());
  const std::string footprint = m.Footprint(id);

  auto retry_context = m.service.ContextFor("test_vs_1");
  credits::Transfer retried;
  const grpc::Status retry = m.Stub()->TransitionTransfer(retry_context.get(), request, &retried);
  INFO(retry.error_message());
  REQUIRE(retry.ok());
  CHECK(retried.status() == credits::TRANSFER_STATUS_SUBMITTED);
  CHECK(retried.version() == 2);
  REQUIRE(retried.history_size() == 2);
  CHECK(retried.history(1).action() == credits::TRANSFER_ACTION_SUBMIT);
  // The duplicate and the retry: exactly the bytes stored with the key; the SUBMIT happened
  // once.
  CHECK(WireBytes(duplicate.transfer) == WireBytes(retried));
  CHECK(Sql(url,
            "SELECT encode(response, 'hex') FROM idempotency_records WHERE "
            "idempotency_key = 'in-doubt'") == absl::BytesToHexString(retried.SerializeAsString()));
  CHECK(m.Footprint(id) == footprint);
  CHECK(Sql(url, "SELECT count(*) FROM credit_transfer_history WHERE transfer_id = " +
                     std::to_string(id) + " AND action = 'SUBMIT'") == "1");
  CHECK(m.Balance(m.vs1).reserved().hundredths() == 100);
  CHECK(LedgerViolations(url).empty());
}
