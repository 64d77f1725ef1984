// Notifications and the outbox through the real server: one outbox event per committed change
// and none for a refused one, the contract's recipients (never the actor), and a user's own
// notifications listed, counted and marked read.

#include <catch2/catch.hpp>
#include <map>

#include "tests/support/ledger_client.h"
#include "tests/support/service_fixture.h"

using namespace zeva::testing;

namespace {

struct Inbox {
  ServiceFixture service;
  LedgerClient ledger{service};
  uint64_t vs1 = OrganizationId(service.database_url(), "Test Vehicle Supplier 1");
  uint64_t vs2 = OrganizationId(service.database_url(), "Test Vehicle Supplier 2");
  int keys = 0;

  std::string Key() { return "n-" + std::to_string(++keys); }

  credits::Transfer Act(const std::string& user, uint64_t id, credits::TransferAction action) {
    const TransferAnswer answer = ledger.Transition(user, Key(), id, action);
    INFO(user << ": " << answer.status.error_message());
    REQUIRE(answer.status.ok());
    return answer.transfer;
  }

  uint64_t Create(int64_t hundredths) {
    const TransferAnswer answer =
        ledger.CreateTransfer("test_vs_1", Key(), vs2, TransferLine{2021, hundredths, 0});
    INFO(answer.status.error_message());
    REQUIRE(answer.status.ok());
    return answer.transfer.id();
  }

  // A 1.00 transfer from vs1 (funded first) to vs2, submitted and accepted.
  uint64_t Accepted() {
    REQUIRE(ledger.AdjustOne(Key(), vs1, 2021, credits::CREDIT_CLASS_A, 1000).status.ok());
    const uint64_t id = Create(100);
    Act("test_vs_1", id, credits::TRANSFER_ACTION_SUBMIT);
    Act("test_vs_2", id, credits::TRANSFER_ACTION_ACCEPT);
    return id;
  }

  std::vector<credits::Notification> Notifications(const std::string& user,
                                                   bool unread_only = false) {
    auto stub = credits::NotificationService::NewStub(service.channel());
    credits::ListNotificationsRequest request;
    request.set_unread_only(unread_only);
    auto context = service.ContextFor(user);
    auto reader = stub->ListNotifications(context.get(), request);
    std::vector<credits::Notification> out;
    credits::Notification n;
    while (reader->Read(&n)) out.push_back(n);
    REQUIRE(reader->Finish().ok());
    return out;
  }

  // Event types each user was notified of, in order.
  std::map<std::string, std::vector<std::string>> Received() {
    std::map<std::string, std::vector<std::string>> out;
    for (const char* user : {"test_vs_1", "test_vs_1_user", "test_vs_2", "test_vs_3", "test_gov_1",
                             "test_gov_director"}) {
      for (const auto& n : Notifications(user)) out[user].push_back(n.event_type());
    }
    return out;
  }

  std::string Outbox() {
    return Sql(service.database_url(),
               "SELECT string_agg(event_type || ':' || array_to_string(recipients, '+'), ' ' "
               "ORDER BY seq) FROM outbox_events");
  }
};

}  // namespace

TEST_CASE("a transfer's steps notify the contract's recipients, never the actor",
          "[notification]") {
  Inbox in;
  const uint64_t id = in.Accepted();
  in.Act("test_gov_1", id, credits::TRANSFER_ACTION_RECOMMEND_APPROVAL);
  in.Act("test_gov_director", id, credits::TRANSFER_ACTION_RECORD);
  const std::string t = "credits.transfer.";
  const auto received = in.Received();
  using V = std::vector<std::string>;
  CHECK(received.count("test_vs_1") == 1);
  CHECK((received.count("test_vs_1") ? received.at("test_vs_1") : V{}) ==
        V{"credits.journal.adjustment", t + "accepted", t + "recorded"});
  CHECK((received.count("test_vs_1_user") ? received.at("test_vs_1_user") : V{}) ==
        V{"credits.journal.adjustment", t + "accepted", t + "recorded"});
  CHECK((received.count("test_vs_2") ? received.at("test_vs_2") : V{}) ==
        V{t + "submitted", t + "recorded"});
  CHECK(received.count("test_vs_3") == 0);
  CHECK((received.count("test_gov_1") ? received.at("test_gov_1") : V{}) == V{t + "accepted"});
  CHECK((received.count("test_gov_director") ? received.at("test_gov_director") : V{}) ==
        V{t + "recommended_approval"});
  // One outbox event per committed change (the adjustment, create, four steps), with its
  // recipients; RECORD emits only transfer.recorded, which names its journal.
  CHECK(in.Outbox() ==
        "credits.journal.adjustment:test_vs_1+test_vs_1_user "
        "credits.transfer.created: "
        "credits.transfer.submitted:test_vs_2 "
        "credits.transfer.accepted:test_gov_1+test_vs_1+test_vs_1_user "
        "credits.transfer.recommended_approval:test_gov_director "
        "credits.transfer.recorded:test_vs_1+test_vs_1_user+test_vs_2");
  CHECK(Sql(in.service.database_url(),
            "SELECT journal_id IS NOT NULL AND transfer_id IS NOT NULL FROM outbox_events "
            "WHERE event_type = 'credits.transfer.recorded'") == "t");
  const auto recorded = in.Notifications("test_vs_2").back();
  CHECK(recorded.transfer_id() == id);
  CHECK(recorded.journal_id() != 0);
  CHECK(recorded.message().find(std::to_string(id)) != std::string::npos);
}

TEST_CASE("rescinding a reviewed transfer tells the other party, analysts and directors",
          "[notification]") {
  Inbox in;
  const uint64_t id = in.Accepted();
  in.Act("test_gov_1", id, credits::TRANSFER_ACTION_RECOMMEND_REJECTION);
  in.Act("test_vs_2", id, credits::TRANSFER_ACTION_RESCIND);
  CHECK(Sql(in.service.database_url(),
            "SELECT array_to_string(recipients, '+') FROM outbox_events WHERE event_type = "
            "'credits.transfer.rescinded'") ==
        "test_gov_1+test_gov_director+test_vs_1+test_vs_1_user");
}

TEST_CASE("a refused change writes no event and no notification", "[notification]") {
  Inbox in;
  const uint64_t id = in.Create(100);  // nothing funded: SUBMIT must fail
  const std::string before = in.Outbox();
  auto stub = credits::CreditTransferService::NewStub(in.service.channel());
  credits::TransitionTransferRequest request;
  request.set_idempotency_key("refused");
  request.set_transfer_id(id);
  request.set_action(credits::TRANSFER_ACTION_SUBMIT);
  auto context = in.service.ContextFor("test_vs_1");
  credits::Transfer out;
  const grpc::Status status = stub->TransitionTransfer(context.get(), request, &out);
  CHECK(ErrorReason(status) == "INSUFFICIENT_CREDITS");
  CHECK(in.Outbox() == before);
  CHECK(in.Notifications("test_vs_2").empty());
}

TEST_CASE("a user's notifications: unread first, marked read by the user only", "[notification]") {
  Inbox in;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(in.ledger.AdjustOne(in.Key(), in.vs1, 2021, credits::CREDIT_CLASS_A, 10).status.ok());
  }
  auto stub = credits::NotificationService::NewStub(in.service.channel());
  auto count = [&](const std::string& user) {
    auto context = in.service.ContextFor(user);
    credits::CountUnreadNotificationsResponse response;
    REQUIRE(stub->CountUnreadNotifications(context.get(), {}, &response).ok());
    return response.unread();
  };
  auto mark = [&](const std::string& user, const std::vector<uint64_t>& ids) {
    auto context = in.service.ContextFor(user);
    credits::MarkNotificationsReadRequest request;
    for (uint64_t id : ids) request.add_ids(id);
    credits::MarkNotificationsReadResponse response;
    REQUIRE(stub->MarkNotificationsRead(context.get(), request, &response).ok());
    return response.marked();
  };
  const auto mine = in.Notifications("test_vs_1");
  REQUIRE(mine.size() == 3);
  CHECK(count("test_vs_1") == 3);
  // Another user cannot mark them; the owner marks one, then the rest; again marks nothing.
  CHECK(mark("test_vs_2", {mine[0].id()}) == 0);
  CHECK(mark("test_vs_1", {mine[0].id()}) == 1);
  CHECK(count("test_vs_1") == 2);
  CHECK(in.Notifications("test_vs_1", true).size() == 2);
  CHECK(in.Notifications("test_vs_1")[0].read());
  CHECK(mark("test_vs_1", {}) == 2);
  CHECK(mark("test_vs_1", {}) == 0);
  CHECK(count("test_vs_1") == 0);
  CHECK(count("test_vs_1_user") == 3);  // each user's own rows
}

TEST_CASE("the ledger audit notices a committed change without its outbox event",
          "[notification]") {
  Inbox in;
  const uint64_t id = in.Accepted();
  const std::string url = in.service.database_url();
  CHECK(LedgerViolations(url).empty());
  // Take away one transfer step's event and the adjustment's: the audit names both.
  Sql(url,
      "DELETE FROM outbox_events WHERE event_type IN ('credits.transfer.accepted', "
      "'credits.journal.adjustment')");
  const std::string violations = LedgerViolations(url);
  CHECK(violations.find("transfer " + std::to_string(id) + ": 3 changes but 2 outbox events") !=
        std::string::npos);
  CHECK(violations.find("has 0 outbox events") != std::string::npos);
  CHECK(LedgerViolations(url, /*outbox=*/false).empty());  // the ledger itself is sound
}
