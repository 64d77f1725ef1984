#pragma once
// zeva.transactions.TransactionList: the caller's organization's credit transactions
// (government: every organization's), streamed row by row.

#include "db/transaction_store.h"
#include "services/call_guard.h"
#include "transactions.grpc.pb.h"

namespace zeva::services {

class TransactionListService final : public zeva::transactions::TransactionList::CallbackService {
 public:
  TransactionListService(CallGuard& guard, db::TransactionStore& store)
      : guard_(guard), store_(store) {}

  grpc::ServerWriteReactor<zeva::transactions::TransactionSummary>* GetTransactions(
      grpc::CallbackServerContext* context,
      const zeva::transactions::TransactionListRequest* request) override;

 private:
  CallGuard& guard_;
  db::TransactionStore& store_;
};

}  // namespace zeva::services
