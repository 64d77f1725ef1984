#pragma once
// zeva.credits.v1.ComplianceService: a supplier files its model year report, an analyst
// recommends, the director assesses, and the obligation and earlier deficits are deducted
// from the supplier's credits in one transaction (docs/compliance.md). The rule and the
// workflow live in domain/ (compliance_rule, compliance_workflow), the SQL in
// db/compliance_store.h; this handler maps the wire to them and computes the preview.

#include "db/compliance_store.h"
#include "db/idempotency.h"
#include "db/ledger_store.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/compliance.grpc.pb.h"

namespace zeva::services {

class ComplianceService final : public zeva::credits::v1::ComplianceService::CallbackService {
 public:
  ComplianceService(CallGuard& guard, db::ComplianceStore& reports, db::LedgerStore& ledger,
                    db::IdempotencyStore& keys)
      : guard_(guard), reports_(reports), ledger_(ledger), keys_(keys) {}

  grpc::ServerUnaryReactor* GetComplianceRatios(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::GetComplianceRatiosRequest* request,
      zeva::credits::v1::GetComplianceRatiosResponse* response) override;
  grpc::ServerUnaryReactor* CreateModelYearReport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::CreateModelYearReportRequest* request,
      zeva::credits::v1::ModelYearReport* response) override;
  grpc::ServerUnaryReactor* UpdateModelYearReport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::UpdateModelYearReportRequest* request,
      zeva::credits::v1::ModelYearReport* response) override;
  grpc::ServerUnaryReactor* TransitionModelYearReport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::TransitionModelYearReportRequest* request,
      zeva::credits::v1::ModelYearReport* response) override;
  grpc::ServerUnaryReactor* GetModelYearReport(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::GetModelYearReportRequest* request,
      zeva::credits::v1::ModelYearReport* response) override;
  grpc::ServerWriteReactor<zeva::credits::v1::ModelYearReport>* ListModelYearReports(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListModelYearReportsRequest* request) override;
  grpc::ServerUnaryReactor* GetDeficits(grpc::CallbackServerContext* context,
                                        const zeva::credits::v1::GetDeficitsRequest* request,
                                        zeva::credits::v1::GetDeficitsResponse* response) override;

 private:
  using Change = std::function<absl::StatusOr<db::ReportOutcome>(
      const Call& call, const db::KeyedChange<db::ReportRecord>& key)>;
  // Idempotency, then `change` (which validates and runs the store), then the report.
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context, const char* method,
                                   const google::protobuf::Message& request, const std::string& key,
                                   const Change& change,
                                   zeva::credits::v1::ModelYearReport* response);
  absl::Status Answer(const Call& call, int64_t report_id, zeva::credits::v1::ModelYearReport* out);

  CallGuard& guard_;
  db::ComplianceStore& reports_;
  db::LedgerStore& ledger_;
  db::IdempotencyStore& keys_;
};

}  // namespace zeva::services
