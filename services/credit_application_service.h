#pragma once
// zeva.credits.v1.CreditApplicationService: a supplier files the ZEVs it sold, a government
// analyst checks them against ICBC's registrations and decides which count, a director
// validates and the credits are issued, each VIN at most once ever (docs/applications.md).
// The workflow and the record rules live in domain/ (application_workflow, sales_records),
// the SQL in db/application_store.h; this handler maps the wire to them.

#include "db/application_store.h"
#include "db/idempotency.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/applications.grpc.pb.h"

namespace zeva::services {

class CreditApplicationService final
    : public zeva::credits::v1::CreditApplicationService::CallbackService {
 public:
  CreditApplicationService(CallGuard& guard, db::ApplicationStore& applications,
                           db::IdempotencyStore& keys)
      : guard_(guard), applications_(applications), keys_(keys) {}

  grpc::ServerUnaryReactor* CreateApplication(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::CreateApplicationRequest* request,
      zeva::credits::v1::CreditApplication* response) override;
  grpc::ServerUnaryReactor* AddSalesRecords(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::AddSalesRecordsRequest* request,
      zeva::credits::v1::CreditApplication* response) override;
  grpc::ServerUnaryReactor* RemoveSalesRecords(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::RemoveSalesRecordsRequest* request,
      zeva::credits::v1::CreditApplication* response) override;
  grpc::ServerUnaryReactor* SetRecordDecisions(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::SetRecordDecisionsRequest* request,
      zeva::credits::v1::CreditApplication* response) override;
  grpc::ServerUnaryReactor* TransitionApplication(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::TransitionApplicationRequest* request,
      zeva::credits::v1::CreditApplication* response) override;
  grpc::ServerUnaryReactor* GetApplication(grpc::CallbackServerContext* context,
                                           const zeva::credits::v1::GetApplicationRequest* request,
                                           zeva::credits::v1::CreditApplication* response) override;
  grpc::ServerWriteReactor<zeva::credits::v1::CreditApplication>* ListApplications(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListApplicationsRequest* request) override;
  grpc::ServerWriteReactor<zeva::credits::v1::SalesRecord>* ListSalesRecords(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListSalesRecordsRequest* request) override;

 private:
  using Change = std::function<absl::StatusOr<db::ApplicationOutcome>(
      const Call& call, const db::KeyedChange<db::ApplicationRecord>& key)>;
  // Idempotency, then `change` (which validates and runs the store), then the application.
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context, const char* method,
                                   const google::protobuf::Message& request, const std::string& key,
                                   const Change& change,
                                   zeva::credits::v1::CreditApplication* response);
  absl::Status Answer(const Call& call, int64_t application_id,
                      zeva::credits::v1::CreditApplication* out);

  CallGuard& guard_;
  db::ApplicationStore& applications_;
  db::IdempotencyStore& keys_;
};

}  // namespace zeva::services
