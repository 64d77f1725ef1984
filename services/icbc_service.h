#pragma once
// zeva.credits.v1.IcbcService: government analysts and directors upload ICBC's registration
// extract in chunks (gRPC-Web has no client streaming), commit it for zeva-worker to import,
// follow its progress, and look registrations up (docs/icbc.md). Storage: db/icbc_store.h.

#include "db/icbc_store.h"
#include "db/idempotency.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/applications.grpc.pb.h"

namespace zeva::services {

class IcbcService final : public zeva::credits::v1::IcbcService::CallbackService {
 public:
  IcbcService(CallGuard& guard, db::IcbcStore& imports, db::IdempotencyStore& keys)
      : guard_(guard), imports_(imports), keys_(keys) {}

  grpc::ServerUnaryReactor* StartIcbcImport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::StartIcbcImportRequest* request,
      zeva::credits::v1::IcbcImport* response) override;
  grpc::ServerUnaryReactor* UploadIcbcChunk(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::UploadIcbcChunkRequest* request,
      zeva::credits::v1::IcbcImport* response) override;
  grpc::ServerUnaryReactor* CommitIcbcImport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::CommitIcbcImportRequest* request,
      zeva::credits::v1::IcbcImport* response) override;
  grpc::ServerUnaryReactor* CancelIcbcImport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::CancelIcbcImportRequest* request,
      zeva::credits::v1::IcbcImport* response) override;
  grpc::ServerUnaryReactor* GetIcbcImport(grpc::CallbackServerContext* context,
                                          const zeva::credits::v1::GetIcbcImportRequest* request,
                                          zeva::credits::v1::IcbcImport* response) override;
  grpc::ServerWriteReactor<zeva::credits::v1::IcbcImport>* ListIcbcImports(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListIcbcImportsRequest* request) override;
  grpc::ServerUnaryReactor* LookupRegistrations(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::LookupRegistrationsRequest* request,
      zeva::credits::v1::LookupRegistrationsResponse* response) override;

 private:
  // The import as it is now, or NOT_FOUND.
  absl::Status Answer(const Call& call, int64_t import_id, zeva::credits::v1::IcbcImport* out);
  // A step on a stored import: its id checked, the caller's role, then `step`, its outcome
  // mapped to the contract's errors, and the import as the answer.
  using Step = std::function<absl::StatusOr<db::IcbcOutcome>(const Call& call, int64_t id)>;
  // `action`: what the step does, for messages ("cancel").
  grpc::ServerUnaryReactor* OnImport(grpc::CallbackServerContext* context, const char* method,
                                     const char* action, uint64_t import_id, const Step& step,
                                     zeva::credits::v1::IcbcImport* response);

  CallGuard& guard_;
  db::IcbcStore& imports_;
  db::IdempotencyStore& keys_;
};

}  // namespace zeva::services
