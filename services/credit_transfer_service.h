#pragma once
// zeva.credits.v1.CreditTransferService: suppliers sell credits to each other; the buyer
// accepts, a government analyst recommends, a director records. The server owns the workflow
// (domain/transfer_workflow.h) and the credits it moves (db/transfer_store.h).

#include "db/idempotency.h"
#include "db/ledger_store.h"
#include "db/transfer_store.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::services {

class CreditTransferService final
    : public zeva::credits::v1::CreditTransferService::CallbackService {
 public:
  CreditTransferService(CallGuard& guard, db::TransferStore& transfers, db::LedgerStore& ledger,
                        db::IdempotencyStore& keys)
      : guard_(guard), transfers_(transfers), ledger_(ledger), keys_(keys) {}

  grpc::ServerUnaryReactor* CreateTransfer(grpc::CallbackServerContext* context,
                                           const zeva::credits::v1::CreateTransferRequest* request,
                                           zeva::credits::v1::Transfer* response) override;
  grpc::ServerUnaryReactor* UpdateTransfer(grpc::CallbackServerContext* context,
                                           const zeva::credits::v1::UpdateTransferRequest* request,
                                           zeva::credits::v1::Transfer* response) override;
  grpc::ServerUnaryReactor* TransitionTransfer(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::TransitionTransferRequest* request,
      zeva::credits::v1::Transfer* response) override;
  grpc::ServerUnaryReactor* GetTransfer(grpc::CallbackServerContext* context,
                                        const zeva::credits::v1::GetTransferRequest* request,
                                        zeva::credits::v1::Transfer* response) override;
  grpc::ServerWriteReactor<zeva::credits::v1::Transfer>* ListTransfers(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListTransfersRequest* request) override;
  grpc::ServerWriteReactor<zeva::credits::v1::Organization>* ListSuppliers(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListSuppliersRequest* request) override;

 private:
  using Change = std::function<absl::StatusOr<db::TransferOutcome>(
      const Call& call, const db::KeyedChange<db::TransferRecord>& key)>;
  // Idempotency, then `change` (which validates and runs the store), then the transfer as the
  // change stored it with the key.
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context, const char* method,
                                   const google::protobuf::Message& request, const std::string& key,
                                   const Change& change, zeva::credits::v1::Transfer* response);
  absl::Status Answer(const Call& call, int64_t transfer_id, zeva::credits::v1::Transfer* out);
  absl::StatusOr<int64_t> Partner(const Call& call, uint64_t requested);

  CallGuard& guard_;
  db::TransferStore& transfers_;
  db::LedgerStore& ledger_;
  db::IdempotencyStore& keys_;
};

}  // namespace zeva::services
