#pragma once
// zeva.credits.v1.CreditLedgerService: balances, ledger entries and journals. A supplier
// reads its own organization's; government any organization's.

#include "db/fresh_reads.h"
#include "db/ledger_store.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::services {

class CreditLedgerService final : public zeva::credits::v1::CreditLedgerService::CallbackService {
 public:
  CreditLedgerService(CallGuard& guard, db::LedgerStore& store, db::FreshReads& reads)
      : guard_(guard), store_(store), reads_(reads) {}

  grpc::ServerUnaryReactor* GetBalances(grpc::CallbackServerContext* context,
                                        const zeva::credits::v1::GetBalancesRequest* request,
                                        zeva::credits::v1::GetBalancesResponse* response) override;
  grpc::ServerWriteReactor<zeva::credits::v1::LedgerEntry>* ListLedgerEntries(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListLedgerEntriesRequest* request) override;
  grpc::ServerUnaryReactor* GetJournal(grpc::CallbackServerContext* context,
                                       const zeva::credits::v1::GetJournalRequest* request,
                                       zeva::credits::v1::Journal* response) override;

 private:
  CallGuard& guard_;
  db::LedgerStore& store_;
  db::FreshReads& reads_;
};

}  // namespace zeva::services
