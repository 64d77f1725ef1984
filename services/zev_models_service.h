#pragma once
// zeva.transactions.ZEVModels: vehicle models of suppliers, with their credit values.

#include "db/fresh_reads.h"
#include "db/vehicle_store.h"
#include "services/call_guard.h"
#include "zevs.grpc.pb.h"

namespace zeva::services {

class ZevModelsService final : public zeva::transactions::ZEVModels::CallbackService {
 public:
  ZevModelsService(CallGuard& guard, db::VehicleStore& store, db::FreshReads& reads)
      : guard_(guard), store_(store), reads_(reads) {}

  grpc::ServerWriteReactor<zeva::transactions::ModelSummary>* ListModels(
      grpc::CallbackServerContext* context,
      const zeva::transactions::ModelListRequest* request) override;
  grpc::ServerUnaryReactor* GetModelDetails(grpc::CallbackServerContext* context,
                                            const zeva::transactions::ModelDetailsRequest* request,
                                            zeva::transactions::ModelDetails* response) override;
  grpc::ServerUnaryReactor* CreateModelRequest(
      grpc::CallbackServerContext* context, const zeva::transactions::ModelCreateRequest* request,
      zeva::transactions::ModelCreateResponse* response) override;
  grpc::ServerUnaryReactor* UpdateModelRequest(
      grpc::CallbackServerContext* context, const zeva::transactions::ModelUpdateRequest* request,
      zeva::transactions::ModelUpdateResponse* response) override;

 private:
  CallGuard& guard_;
  db::VehicleStore& store_;
  db::FreshReads& reads_;
};

}  // namespace zeva::services
