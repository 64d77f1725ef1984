#include "services/transaction_list_service.h"

#include "absl/strings/str_cat.h"
#include "services/caller_scope.h"

namespace zeva::services {

grpc::Status TransactionListService::GetTransactions(
    grpc::ServerContext* context, const zeva::transactions::TransactionListRequest* /*request*/,
    grpc::ServerWriter<zeva::transactions::TransactionSummary>* writer) {
  return guard_.Run(context, "GetTransactions", [&](const auth::Caller& caller) {
    zeva::transactions::TransactionSummary summary;  // reused: no allocation per row
    absl::Status bad_row;
    absl::Status status =
        store_.List(ScopeOf(caller), context->deadline(), [&](const db::TransactionRecord& row) {
          zeva::transactions::TransactionType type;
          if (!zeva::transactions::TransactionType_Parse(row.type, &type)) {
            bad_row = absl::InternalError(
                absl::StrCat("transaction ", row.id, " has unknown type ", row.type));
            return false;
          }
          summary.set_id(static_cast<uint64_t>(row.id));
          summary.set_type(type);
          summary.mutable_amount()->set_cents(static_cast<uint64_t>(row.amount_cents));
          summary.mutable_credits()->set_credits(static_cast<uint64_t>(row.credits));
          summary.mutable_credits()->set_hundredths(static_cast<uint64_t>(row.credits) * 100);
          summary.mutable_timestamp()->set_seconds(row.updated_unix_seconds);
          return !context->IsCancelled() && writer->Write(summary);
        });
    return bad_row.ok() ? status : bad_row;
  });
}

}  // namespace zeva::services
