#include "services/zev_models_service.h"

#include "absl/strings/str_cat.h"
#include "domain/vehicle_model.h"
#include "services/caller_scope.h"

namespace zeva::services {
namespace {

using zeva::transactions::CreditValue;

// ModelSummary and ModelDetails share field numbers and names: one filler serves both.
template <typename Message>
void Fill(const db::VehicleRecord& v, Message* out) {
  out->set_id(static_cast<uint64_t>(v.id));
  out->set_make(v.make);
  out->set_model(v.model);
  out->set_type(v.type);
  out->set_trim(v.trim);
  out->set_range(static_cast<uint32_t>(v.range_km));
  CreditValue* credits = out->mutable_credits();
  credits->set_credits(static_cast<uint64_t>(v.credit_hundredths / 100));  // whole part
  credits->set_hundredths(static_cast<uint64_t>(v.credit_hundredths));
}

db::VehicleWrite ToWrite(const domain::VehicleModel& m) {
  return db::VehicleWrite{
      m.make, m.model, m.type, m.trim, static_cast<int32_t>(m.range_km), m.credit_hundredths};
}

absl::Status SuppliersOnly(const auth::Caller& caller, const char* what) {
  if (!IsGovernment(caller)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("government users cannot ", what, "; vehicle suppliers report their models"));
}

absl::Status DuplicateMessage(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  return absl::AlreadyExistsError(
      "your organization already has a model with the same make, model, type, trim and range");
}

}  // namespace

grpc::Status ZevModelsService::ListModels(
    grpc::ServerContext* context, const zeva::transactions::ModelListRequest* request,
    grpc::ServerWriter<zeva::transactions::ModelSummary>* writer) {
  return guard_.Run(context, "ListModels", [&](const auth::Caller& caller) -> absl::Status {
    const auto requested = static_cast<int64_t>(request->organization());
    db::Scope scope = ScopeOf(caller);
    if (IsGovernment(caller)) {
      if (requested != 0) scope = db::Scope::Of(requested);
    } else if (requested != 0 && requested != caller.organization_id) {
      return absl::PermissionDeniedError("suppliers may list only their own organization's models");
    }
    zeva::transactions::ModelSummary summary;  // reused: no allocation per row
    return store_.List(scope, context->deadline(), [&](const db::VehicleRecord& v) {
      Fill(v, &summary);
      return !context->IsCancelled() && writer->Write(summary);
    });
  });
}

grpc::Status ZevModelsService::GetModelDetails(
    grpc::ServerContext* context, const zeva::transactions::ModelDetailsRequest* request,
    zeva::transactions::ModelDetails* response) {
  return guard_.Run(context, "GetModelDetails", [&](const auth::Caller& caller) -> absl::Status {
    if (request->id() == 0) return absl::InvalidArgumentError("id must be given");
    auto found =
        store_.Find(static_cast<int64_t>(request->id()), ScopeOf(caller), context->deadline());
    if (!found.ok()) return found.status();
    // Another supplier's model is reported exactly like a missing one.
    if (!found->has_value()) {
      return absl::NotFoundError(absl::StrCat("no model with id ", request->id()));
    }
    Fill(**found, response);
    return absl::OkStatus();
  });
}

grpc::Status ZevModelsService::CreateModelRequest(
    grpc::ServerContext* context, const zeva::transactions::ModelCreateRequest* request,
    zeva::transactions::ModelCreateResponse* response) {
  return guard_.Run(context, "CreateModelRequest", [&](const auth::Caller& caller) -> absl::Status {
    if (absl::Status allowed = SuppliersOnly(caller, "create models"); !allowed.ok()) {
      return allowed;
    }
    auto model = domain::ValidateVehicleModel(request->make(), request->model(), request->type(),
                                              request->trim(), request->range());
    if (!model.ok()) return model.status();
    auto id = store_.Create(caller.organization_id, ToWrite(*model), context->deadline());
    if (!id.ok()) return DuplicateMessage(id.status());
    response->set_id(static_cast<uint64_t>(*id));
    return absl::OkStatus();
  });
}

grpc::Status ZevModelsService::UpdateModelRequest(
    grpc::ServerContext* context, const zeva::transactions::ModelUpdateRequest* request,
    zeva::transactions::ModelUpdateResponse* /*response*/) {
  return guard_.Run(context, "UpdateModelRequest", [&](const auth::Caller& caller) -> absl::Status {
    if (absl::Status allowed = SuppliersOnly(caller, "update models"); !allowed.ok()) {
      return allowed;
    }
    if (request->id() == 0) return absl::InvalidArgumentError("id must be given");
    auto model = domain::ValidateVehicleModel(request->make(), request->model(), request->type(),
                                              request->trim(), request->range());
    if (!model.ok()) return model.status();
    auto updated = store_.Update(static_cast<int64_t>(request->id()), caller.organization_id,
                                 ToWrite(*model), context->deadline());
    if (!updated.ok()) return DuplicateMessage(updated.status());
    if (!*updated) return absl::NotFoundError(absl::StrCat("no model with id ", request->id()));
    return absl::OkStatus();
  });
}

}  // namespace zeva::services
