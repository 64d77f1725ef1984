#include "tests/support/ledger_client.h"

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

std::string LedgerViolations(const std::string& database_url) {
  return Sql(database_url, R"(
    SELECT string_agg(v, E'\n') FROM (
      SELECT 'account ' || a.organization_id || ' ' || a.model_year || ' ' || a.credit_class ||
             ' posted ' || a.posted || ' but entries sum to ' || coalesce(s.total, 0) AS v
      FROM credit_accounts a LEFT JOIN (
        SELECT organization_id, model_year, credit_class, sum(amount) AS total
        FROM credit_ledger_entries GROUP BY 1, 2, 3) s
      USING (organization_id, model_year, credit_class)
      WHERE a.posted <> coalesce(s.total, 0)
      UNION ALL
      SELECT 'supplier entries without an account: ' || e.organization_id
      FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id
      WHERE o.organization_type = 'VEHICLE_SUPPLIER' AND NOT EXISTS (
        SELECT 1 FROM credit_accounts a WHERE a.organization_id = e.organization_id
        AND a.model_year = e.model_year AND a.credit_class = e.credit_class)
      UNION ALL
      SELECT 'journal ' || journal_id || ' sums to ' || sum(amount)
      FROM credit_ledger_entries GROUP BY journal_id HAVING sum(amount) <> 0
      UNION ALL
      SELECT 'account ' || a.organization_id || ' ' || a.model_year || ' ' || a.credit_class ||
             ' reserved ' || a.reserved || ' but reserving transfers hold ' || coalesce(r.total, 0)
      FROM credit_accounts a LEFT JOIN (
        SELECT t.from_organization_id AS organization_id, l.model_year, l.credit_class,
               sum(l.amount) AS total
        FROM credit_transfers t JOIN credit_transfer_lines l ON l.transfer_id = t.id
        WHERE t.status IN ('SUBMITTED', 'ACCEPTED', 'RECOMMENDED_APPROVAL',
                           'RECOMMENDED_REJECTION')
        GROUP BY 1, 2, 3) r
      USING (organization_id, model_year, credit_class)
      WHERE a.reserved <> coalesce(r.total, 0)
      UNION ALL
      SELECT 'recorded transfer ' || t.id || ' has ' || count(j.id) || ' journals'
      FROM credit_transfers t LEFT JOIN credit_journals j
        ON j.kind = 'TRANSFER' AND j.reference = 'transfer/' || t.id
      WHERE t.status = 'RECORDED' GROUP BY t.id HAVING count(j.id) <> 1
      UNION ALL
      SELECT 'negative available: ' || organization_id || ' ' || model_year || ' ' || credit_class
      FROM credit_accounts WHERE posted - reserved < 0
      UNION ALL
      SELECT 'suppliers total ' || sum(amount) FILTER (WHERE o.organization_type = 'VEHICLE_SUPPLIER')
             || ' is not minus the government''s ' || sum(amount) FILTER (WHERE o.organization_type = 'GOVERNMENT')
      FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id
      HAVING coalesce(sum(amount), 0) <> 0
    ) x)");
}

uint64_t OrganizationId(const std::string& database_url, const std::string& name) {
  return std::stoull(Sql(database_url, "SELECT id FROM organizations WHERE name = '" + name + "'"));
}

}  // namespace zeva::testing
