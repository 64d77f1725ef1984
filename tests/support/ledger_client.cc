#include "tests/support/ledger_client.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_join.h"
#include "db/ledger_audit.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace zeva::testing {
namespace {

template <typename Request>
JournalAnswer CallFor(ServiceFixture& service, const std::string& user, const Request& request,
                      grpc::Status (credits::CreditAdminService::Stub::*method)(
                          grpc::ClientContext*, const Request&, credits::Journal*)) {
  auto stub = credits::CreditAdminService::NewStub(service.channel());
  auto context = service.ContextFor(user);
  JournalAnswer answer;
  answer.status = ((*stub).*method)(context.get(), request, &answer.journal);
  return answer;
}

google::rpc::Status Details(const grpc::Status& status) {
  google::rpc::Status details;
  details.ParseFromString(status.error_details());
  return details;
}

}  // namespace

JournalAnswer LedgerClient::Issue(const std::string& user,
                                  const credits::IssueCreditsRequest& request) {
  return CallFor(service_, user, request, &credits::CreditAdminService::Stub::IssueCredits);
}

JournalAnswer LedgerClient::Adjust(const std::string& user,
                                   const credits::AdjustCreditsRequest& request) {
  return CallFor(service_, user, request, &credits::CreditAdminService::Stub::AdjustCredits);
}

JournalAnswer LedgerClient::Reverse(const std::string& user,
                                    const credits::ReverseJournalRequest& request) {
  return CallFor(service_, user, request, &credits::CreditAdminService::Stub::ReverseJournal);
}

JournalAnswer LedgerClient::Journal(const std::string& user, uint64_t journal_id) {
  auto stub = credits::CreditLedgerService::NewStub(service_.channel());
  auto context = service_.ContextFor(user);
  credits::GetJournalRequest request;
  request.set_journal_id(journal_id);
  JournalAnswer answer;
  answer.status = stub->GetJournal(context.get(), request, &answer.journal);
  return answer;
}

grpc::Status LedgerClient::Balances(const std::string& user, uint64_t organization_id,
                                    credits::GetBalancesResponse* response) {
  auto stub = credits::CreditLedgerService::NewStub(service_.channel());
  auto context = service_.ContextFor(user);
  credits::GetBalancesRequest request;
  request.set_organization_id(organization_id);
  return stub->GetBalances(context.get(), request, response);
}

grpc::Status LedgerClient::Entries(const std::string& user,
                                   const credits::ListLedgerEntriesRequest& request,
                                   std::vector<credits::LedgerEntry>* entries) {
  auto stub = credits::CreditLedgerService::NewStub(service_.channel());
  auto context = service_.ContextFor(user);
  auto reader = stub->ListLedgerEntries(context.get(), request);
  credits::LedgerEntry entry;
  while (reader->Read(&entry)) entries->push_back(entry);
  return reader->Finish();
}

JournalAnswer LedgerClient::AdjustOne(const std::string& key, uint64_t organization_id,
                                      uint32_t year, credits::CreditClass credit_class,
                                      int64_t hundredths) {
  credits::AdjustCreditsRequest request;
  request.set_idempotency_key(key);
  request.set_organization_id(organization_id);
  request.set_reason("test adjustment");
  auto* line = request.add_lines();
  line->set_model_year(year);
  line->set_credit_class(credit_class);
  line->mutable_amount()->set_hundredths(hundredths);
  return Adjust("test_gov_director", request);
}

TransferAnswer LedgerClient::CreateTransfer(const std::string& user, const std::string& key,
                                            uint64_t to, const TransferLine& line,
                                            const std::string& comment) {
  credits::CreateTransferRequest request;
  request.set_idempotency_key(key);
  request.set_to_organization_id(to);
  request.set_comment(comment);
  auto* l = request.add_lines();
  l->set_model_year(line.year);
  l->set_credit_class(credits::CREDIT_CLASS_A);
  l->mutable_amount()->set_hundredths(line.hundredths);
  l->set_price_per_credit_cents(line.price_per_credit_cents);
  auto stub = credits::CreditTransferService::NewStub(service_.channel());
  auto context = service_.ContextFor(user);
  TransferAnswer answer;
  answer.status = stub->CreateTransfer(context.get(), request, &answer.transfer);
  return answer;
}

TransferAnswer LedgerClient::Transition(const std::string& user, const std::string& key,
                                        uint64_t id, credits::TransferAction action,
                                        uint32_t expected_version, const std::string& comment) {
  credits::TransitionTransferRequest request;
  request.set_idempotency_key(key);
  request.set_transfer_id(id);
  request.set_action(action);
  request.set_expected_version(expected_version);
  request.set_comment(comment);
  auto stub = credits::CreditTransferService::NewStub(service_.channel());
  auto context = service_.ContextFor(user);
  TransferAnswer answer;
  answer.status = stub->TransitionTransfer(context.get(), request, &answer.transfer);
  return answer;
}

std::string ErrorReason(const grpc::Status& status) {
  const google::rpc::Status details = Details(status);
  for (const auto& detail : details.details()) {
    google::rpc::ErrorInfo info;
    if (detail.UnpackTo(&info)) return info.reason();
  }
  return "";
}

std::string ErrorMetadata(const grpc::Status& status, const std::string& key) {
  const google::rpc::Status details = Details(status);
  for (const auto& detail : details.details()) {
    google::rpc::ErrorInfo info;
    if (detail.UnpackTo(&info)) {
      auto it = info.metadata().find(key);
      return it == info.metadata().end() ? "" : it->second;
    }
  }
  return "";
}

std::string ErrorField(const grpc::Status& status) {
  const google::rpc::Status details = Details(status);
  for (const auto& detail : details.details()) {
    google::rpc::BadRequest bad;
    if (detail.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

std::string LedgerViolations(const std::string& database_url, bool outbox) {
  auto violations = db::AuditLedger(database_url, outbox);
  if (!violations.ok()) return std::string(violations.status().message());
  return absl::StrJoin(*violations, "\n");
}

uint64_t OrganizationId(const std::string& database_url, const std::string& name) {
  return std::stoull(Sql(database_url, "SELECT id FROM organizations WHERE name = '" + name + "'"));
}

std::string WireBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace zeva::testing
