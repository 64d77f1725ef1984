#pragma once
// Calls of the credits API for the ledger and transfer tests, and the reconciliation query
// every concurrent test ends with.

#include <grpcpp/grpcpp.h>

#include <string>

#include "tests/support/service_fixture.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::testing {

namespace credits = ::zeva::credits::v1;

struct JournalAnswer {
  grpc::Status status;
  credits::Journal journal;
};

struct TransferAnswer {
  grpc::Status status;
  credits::Transfer transfer;
};

// One transfer line: year, class A, amount, price.
struct TransferLine {
  uint32_t year = 2021;
  int64_t hundredths = 0;
  uint64_t price_per_credit_cents = 0;
};

class LedgerClient {
 public:
  explicit LedgerClient(ServiceFixture& service) : service_(service) {}

  JournalAnswer Issue(const std::string& user, const credits::IssueCreditsRequest& request);
  JournalAnswer Adjust(const std::string& user, const credits::AdjustCreditsRequest& request);
  JournalAnswer Reverse(const std::string& user, const credits::ReverseJournalRequest& request);
  JournalAnswer Journal(const std::string& user, uint64_t journal_id);
  grpc::Status Balances(const std::string& user, uint64_t organization_id,
                        credits::GetBalancesResponse* response);
  grpc::Status Entries(const std::string& user, const credits::ListLedgerEntriesRequest& request,
                       std::vector<credits::LedgerEntry>* entries);

  // CreateTransfer of one line from `user`'s organization to `to`.
  TransferAnswer CreateTransfer(const std::string& user, const std::string& key, uint64_t to,
                                const TransferLine& line, const std::string& comment = "");
  TransferAnswer Transition(const std::string& user, const std::string& key, uint64_t id,
                            credits::TransferAction action, uint32_t expected_version = 0,
                            const std::string& comment = "");

  // An adjustment of one line for `organization_id` by test_gov_director.
  JournalAnswer AdjustOne(const std::string& key, uint64_t organization_id, uint32_t year,
                          credits::CreditClass credit_class, int64_t hundredths);

 private:
  ServiceFixture& service_;
};

// The ErrorInfo reason in a status's details ("" when none).
std::string ErrorReason(const grpc::Status& status);
// The BadRequest field of a status's details ("" when none).
std::string ErrorField(const grpc::Status& status);
// The ErrorInfo metadata value of `key` in a status's details ("" when none).
std::string ErrorMetadata(const grpc::Status& status, const std::string& key);

// Violations of the ledger's and the outbox's invariants in `database_url` (db/ledger_audit),
// one line each ("" when none):
// posted = sum of entries per supplier key, reserved = the lines of reserving transfers per
// key, every journal sums to zero, every RECORDED transfer has exactly one journal, no negative
// available, no supplier entry without its account, suppliers' total = minus the government's.
// `outbox` = false leaves out the outbox checks (for data loaded around the service).
std::string LedgerViolations(const std::string& database_url, bool outbox = true);

uint64_t OrganizationId(const std::string& database_url, const std::string& name);

// `message` serialized deterministically: two responses are the same response when these are
// equal (a replay must answer with the stored response byte for byte).
std::string WireBytes(const google::protobuf::Message& message);

}  // namespace zeva::testing
