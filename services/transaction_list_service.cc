#include "services/transaction_list_service.h"

#include "absl/strings/str_cat.h"
#include "services/caller_scope.h"
#include "services/wire_numbers.h"

namespace zeva::services {
namespace {

absl::Status Fill(const db::TransactionRecord& row, zeva::transactions::TransactionSummary* out) {
  zeva::transactions::TransactionType type;
  if (!zeva::transactions::TransactionType_Parse(row.type, &type)) {
    return absl::InternalError(
        absl::StrCat("transaction ", row.id, " has unknown type ", row.type));
  }
  const std::string what = absl::StrCat("transaction ", row.id);
  auto id = ToWire(row.id, what + " id");
  auto cents = ToWire(row.amount_cents, what + " amount");
  auto credits = ToWire(row.credits, what + " credits");
  for (const absl::Status& s : {id.status(), cents.status(), credits.status()}) {
    if (!s.ok()) return s;
  }
  out->set_id(*id);
  out->set_type(type);
  out->mutable_amount()->set_cents(*cents);
  out->mutable_credits()->set_credits(*credits);
  out->mutable_credits()->set_hundredths(*credits * 100);
  out->mutable_timestamp()->set_seconds(row.updated_unix_seconds);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerWriteReactor<zeva::transactions::TransactionSummary>*
TransactionListService::GetTransactions(
    grpc::CallbackServerContext* context,
    const zeva::transactions::TransactionListRequest* /*request*/) {
  return guard_.Stream<zeva::transactions::TransactionSummary>(
      context, "GetTransactions",
      [=](const Call& call, RowWriter<zeva::transactions::TransactionSummary>* writer) {
        zeva::transactions::TransactionSummary summary;  // reused: no allocation per row
        absl::Status bad_row;
        absl::Status status =
            store_.List(ScopeOf(call.caller), call.budget, [&](const db::TransactionRecord& row) {
              bad_row = Fill(row, &summary);
              return bad_row.ok() && !context->IsCancelled() && writer->Write(summary);
            });
        return bad_row.ok() ? status : bad_row;
      });
}

}  // namespace zeva::services
