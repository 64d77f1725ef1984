#pragma once
// zeva.transactions.TransactionList: the caller's organization's credit transactions.

#include "transactions.grpc.pb.h"

namespace zeva::services {

class TransactionListService final : public zeva::transactions::TransactionList::Service {};

}  // namespace zeva::services
