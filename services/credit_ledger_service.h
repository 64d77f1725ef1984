#pragma once
// zeva.credits.v1.CreditLedgerService: balances, ledger entries and journals. A supplier
// reads its own organization's; government any organization's.

#include <set>
#include <string>

#include "db/fresh_reads.h"
#include "db/ledger_store.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::services {

// GetBalances uses gRPC's callback API: a balance held in memory is answered from the LISTEN
// thread once proven current, so no gRPC thread waits for that proof.
class CreditLedgerService final
    : public zeva::credits::v1::CreditLedgerService::WithCallbackMethod_GetBalances<
          zeva::credits::v1::CreditLedgerService::Service> {
 public:
  CreditLedgerService(CallGuard& guard, db::LedgerStore& store, db::FreshReads& reads)
      : guard_(guard), store_(store), reads_(reads) {}

  // Full names of the methods served through the callback API.
  static std::set<std::string> CallbackMethods() {
    return {std::string("/") + zeva::credits::v1::CreditLedgerService::service_full_name() +
            "/GetBalances"};
  }

  grpc::ServerUnaryReactor* GetBalances(grpc::CallbackServerContext* context,
                                        const zeva::credits::v1::GetBalancesRequest* request,
                                        zeva::credits::v1::GetBalancesResponse* response) override;
  grpc::Status ListLedgerEntries(
      grpc::ServerContext* context, const zeva::credits::v1::ListLedgerEntriesRequest* request,
      grpc::ServerWriter<zeva::credits::v1::LedgerEntry>* writer) override;
  grpc::Status GetJournal(grpc::ServerContext* context,
                          const zeva::credits::v1::GetJournalRequest* request,
                          zeva::credits::v1::Journal* response) override;

 private:
  CallGuard& guard_;
  db::LedgerStore& store_;
  db::FreshReads& reads_;
};

}  // namespace zeva::services
