// Ids the storage cannot hold (above 2^63-1) are answered exactly like any other id that
// names nothing of its kind: the same code, reason and field, and the same message but for
// the number as the client sent it. The storage's integer range is not the client's business.

#include <catch2/catch.hpp>
#include <functional>

#include "tests/support/ledger_client.h"
#include "tests/support/service_fixture.h"
#include "zeva/credits/v1/applications.grpc.pb.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;

namespace {

constexpr uint64_t kBeyond = UINT64_MAX;               // no bigint
constexpr uint64_t kUnknown = 9000000000000000000ULL;  // a bigint no row has
constexpr uint64_t kJustBeyond = (uint64_t{1} << 63);  // 2^63

struct Answer {
  grpc::Status status;
  std::string text;  // what else the call answered, for calls that succeed
};

// One request naming `id` in one field.
using Call = std::function<Answer(uint64_t id)>;

std::string WithoutNumber(std::string message, uint64_t id) {
  const std::string number = std::to_string(id);
  const auto at = message.find(number);
  if (at != std::string::npos) message.replace(at, number.size(), "N");
  return message;
}

void CheckAnsweredAlike(const std::string& name, const Call& call) {
  INFO(name);
  const Answer unknown = call(kUnknown);
  for (uint64_t id : {kBeyond, kJustBeyond}) {
    const Answer beyond = call(id);
    INFO(id << ": " << beyond.status.error_message());
    CHECK(beyond.status.error_code() == unknown.status.error_code());
    CHECK(ErrorReason(beyond.status) == ErrorReason(unknown.status));
    CHECK(ErrorField(beyond.status) == ErrorField(unknown.status));
    CHECK(WithoutNumber(beyond.status.error_message(), id) ==
          WithoutNumber(unknown.status.error_message(), kUnknown));
    CHECK(beyond.text == unknown.text);
  }
  // Never the storage's range: no "at most 9223372036854775807".
  CHECK(call(kBeyond).status.error_message().find("9223372036854775807") == std::string::npos);
}

// A stream's end and how many rows it gave.
template <typename Reader, typename Row>
Answer Rows(Reader reader, Row row) {
  int rows = 0;
  while (reader->Read(&row)) ++rows;
  return Answer{reader->Finish(), std::to_string(rows)};
}

}  // namespace

TEST_CASE("every id field answers an id above 2^63-1 as any id that names nothing", "[hardening]") {
  ServiceFixture service;
  namespace credits = ::zeva::credits::v1;
  auto ledger = credits::CreditLedgerService::NewStub(service.channel());
  auto admin = credits::CreditAdminService::NewStub(service.channel());
  auto transfers = credits::CreditTransferService::NewStub(service.channel());
  auto notifications = credits::NotificationService::NewStub(service.channel());
  auto icbc = credits::IcbcService::NewStub(service.channel());
  auto models = zeva::transactions::ZEVModels::NewStub(service.channel());
  int key = 0;
  auto next_key = [&] { return "unknown-ids-" + std::to_string(++key); };
  const uint64_t vs2 = OrganizationId(service.database_url(), "Test Vehicle Supplier 2");

  CheckAnsweredAlike("GetModelDetails", [&](uint64_t id) {
    zeva::transactions::ModelDetailsRequest r;
    r.set_id(id);
    zeva::transactions::ModelDetails out;
    return Answer{models->GetModelDetails(service.ContextFor("test_vs_1").get(), r, &out), ""};
  });
  CheckAnsweredAlike("UpdateModelRequest", [&](uint64_t id) {
    zeva::transactions::ModelUpdateRequest r;
    r.set_id(id);
    r.set_make("Make");
    r.set_model("Model");
    r.set_type("BEV");
    r.set_trim("Trim");
    r.set_range(300);
    zeva::transactions::ModelUpdateResponse out;
    return Answer{models->UpdateModelRequest(service.ContextFor("test_vs_1").get(), r, &out), ""};
  });
  for (const char* user : {"test_vs_1", "test_gov_1"}) {
    CheckAnsweredAlike(std::string("ListModels by ") + user, [&](uint64_t id) {
      zeva::transactions::ModelListRequest r;
      r.set_organization(id);
      auto context = service.ContextFor(user);
      return Rows(models->ListModels(context.get(), r), zeva::transactions::ModelSummary());
    });
    CheckAnsweredAlike(std::string("GetBalances by ") + user, [&](uint64_t id) {
      credits::GetBalancesRequest r;
      r.set_organization_id(id);
      credits::GetBalancesResponse out;
      return Answer{ledger->GetBalances(service.ContextFor(user).get(), r, &out), ""};
    });
    CheckAnsweredAlike(std::string("ListLedgerEntries organization by ") + user, [&](uint64_t id) {
      credits::ListLedgerEntriesRequest r;
      r.set_organization_id(id);
      auto context = service.ContextFor(user);
      return Rows(ledger->ListLedgerEntries(context.get(), r), credits::LedgerEntry());
    });
    CheckAnsweredAlike(std::string("ListTransfers organization by ") + user, [&](uint64_t id) {
      credits::ListTransfersRequest r;
      r.set_organization_id(id);
      auto context = service.ContextFor(user);
      return Rows(transfers->ListTransfers(context.get(), r), credits::Transfer());
    });
  }
  CheckAnsweredAlike("ListLedgerEntries after_id", [&](uint64_t id) {
    credits::ListLedgerEntriesRequest r;
    r.set_after_id(id);
    auto context = service.ContextFor("test_vs_1");
    return Rows(ledger->ListLedgerEntries(context.get(), r), credits::LedgerEntry());
  });
  CheckAnsweredAlike("GetJournal", [&](uint64_t id) {
    credits::GetJournalRequest r;
    r.set_journal_id(id);
    credits::Journal out;
    return Answer{ledger->GetJournal(service.ContextFor("test_gov_1").get(), r, &out), ""};
  });
  CheckAnsweredAlike("ReverseJournal", [&](uint64_t id) {
    credits::ReverseJournalRequest r;
    r.set_idempotency_key(next_key());
    r.set_journal_id(id);
    r.set_reason("a mistake");
    credits::Journal out;
    return Answer{admin->ReverseJournal(service.ContextFor("test_gov_director").get(), r, &out),
                  ""};
  });
  CheckAnsweredAlike("IssueCredits organization_id", [&](uint64_t id) {
    credits::IssueCreditsRequest r;
    r.set_idempotency_key(next_key());
    r.set_organization_id(id);
    r.set_reference("ref");
    auto* line = r.add_lines();
    line->set_vehicle_id(1);
    line->set_model_year(2021);
    line->set_quantity(1);
    credits::Journal out;
    return Answer{admin->IssueCredits(service.ContextFor("test_gov_director").get(), r, &out), ""};
  });
  CheckAnsweredAlike("IssueCredits lines[0].vehicle_id", [&](uint64_t id) {
    credits::IssueCreditsRequest r;
    r.set_idempotency_key(next_key());
    r.set_organization_id(OrganizationId(service.database_url(), "Test Vehicle Supplier 1"));
    r.set_reference("ref");
    auto* line = r.add_lines();
    line->set_vehicle_id(id);
    line->set_model_year(2021);
    line->set_quantity(1);
    credits::Journal out;
    return Answer{admin->IssueCredits(service.ContextFor("test_gov_director").get(), r, &out), ""};
  });
  CheckAnsweredAlike("CreateTransfer to_organization_id", [&](uint64_t id) {
    credits::CreateTransferRequest r;
    r.set_idempotency_key(next_key());
    r.set_to_organization_id(id);
    auto* line = r.add_lines();
    line->set_model_year(2021);
    line->set_credit_class(credits::CREDIT_CLASS_A);
    line->mutable_amount()->set_hundredths(100);
    credits::Transfer out;
    return Answer{transfers->CreateTransfer(service.ContextFor("test_vs_1").get(), r, &out), ""};
  });
  CheckAnsweredAlike("GetTransfer", [&](uint64_t id) {
    credits::GetTransferRequest r;
    r.set_transfer_id(id);
    credits::Transfer out;
    return Answer{transfers->GetTransfer(service.ContextFor("test_vs_1").get(), r, &out), ""};
  });
  CheckAnsweredAlike("UpdateTransfer", [&](uint64_t id) {
    credits::UpdateTransferRequest r;
    r.set_idempotency_key(next_key());
    r.set_transfer_id(id);
    r.set_to_organization_id(vs2);
    auto* line = r.add_lines();
    line->set_model_year(2021);
    line->set_credit_class(credits::CREDIT_CLASS_A);
    line->mutable_amount()->set_hundredths(100);
    credits::Transfer out;
    return Answer{transfers->UpdateTransfer(service.ContextFor("test_vs_1").get(), r, &out), ""};
  });
  CheckAnsweredAlike("TransitionTransfer", [&](uint64_t id) {
    credits::TransitionTransferRequest r;
    r.set_idempotency_key(next_key());
    r.set_transfer_id(id);
    r.set_action(credits::TRANSFER_ACTION_SUBMIT);
    credits::Transfer out;
    return Answer{transfers->TransitionTransfer(service.ContextFor("test_vs_1").get(), r, &out),
                  ""};
  });
  CheckAnsweredAlike("MarkNotificationsRead", [&](uint64_t id) {
    credits::MarkNotificationsReadRequest r;
    r.add_ids(id);
    credits::MarkNotificationsReadResponse out;
    const grpc::Status status =
        notifications->MarkNotificationsRead(service.ContextFor("test_vs_1").get(), r, &out);
    return Answer{status, std::to_string(out.marked())};
  });
  CheckAnsweredAlike("ListNotifications after_id", [&](uint64_t id) {
    credits::ListNotificationsRequest r;
    r.set_after_id(id);
    auto context = service.ContextFor("test_vs_1");
    return Rows(notifications->ListNotifications(context.get(), r), credits::Notification());
  });
  CheckAnsweredAlike("GetIcbcImport", [&](uint64_t id) {
    credits::GetIcbcImportRequest r;
    r.set_import_id(id);
    credits::IcbcImport out;
    return Answer{icbc->GetIcbcImport(service.ContextFor("test_gov_1").get(), r, &out), ""};
  });
  // The codes themselves, as the contract gives them.
  credits::GetTransferRequest get;
  get.set_transfer_id(kBeyond);
  credits::Transfer out;
  const grpc::Status missing =
      transfers->GetTransfer(service.ContextFor("test_vs_1").get(), get, &out);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(missing.error_message() == "no transfer with id 18446744073709551615");
  credits::GetBalancesRequest other;
  other.set_organization_id(kBeyond);
  credits::GetBalancesResponse balances;
  CHECK(ledger->GetBalances(service.ContextFor("test_vs_1").get(), other, &balances).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(
      ledger->GetBalances(service.ContextFor("test_gov_1").get(), other, &balances).error_code() ==
      grpc::StatusCode::NOT_FOUND);
}
