#include "services/zev_models_service.h"

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "domain/vehicle_model.h"
#include "services/caller_scope.h"
#include "services/wire_numbers.h"

namespace zeva::services {
namespace {

using zeva::transactions::CreditValue;

// ModelSummary and ModelDetails share field numbers and names: one filler serves both.
template <typename Message>
absl::Status Fill(const db::VehicleRecord& v, Message* out) {
  const std::string what = absl::StrCat("vehicle ", v.id);
  auto id = ToWire(v.id, what + " id");
  auto range = ToWire(v.range_km, what + " range");
  auto hundredths = ToWire(v.credit_hundredths, what + " credits");
  for (const absl::Status& s : {id.status(), range.status(), hundredths.status()}) {
    if (!s.ok()) return s;
  }
  out->set_id(*id);
  out->set_make(v.make);
  out->set_model(v.model);
  out->set_type(v.type);
  out->set_trim(v.trim);
  out->set_range(static_cast<uint32_t>(*range));  // range <= kMaxRangeKm by the table's rules
  CreditValue* credits = out->mutable_credits();
  credits->set_credits(*hundredths / 100);  // whole part
  credits->set_hundredths(*hundredths);
  return absl::OkStatus();
}

db::VehicleWrite ToWrite(const domain::VehicleModel& m) {
  return db::VehicleWrite{
      m.make, m.model, m.type, m.trim, static_cast<int32_t>(m.range_km), m.credit_hundredths};
}

absl::Status SuppliersOnly(const auth::Caller& caller, const char* what) {
  if (!IsGovernment(caller)) return absl::OkStatus();
  return domain::Refusal(
      absl::StatusCode::kPermissionDenied,
      absl::StrCat("government users cannot ", what, "; vehicle suppliers report their models"));
}

absl::Status DuplicateMessage(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAlreadyExists) return status;
  return domain::Refusal(
      absl::StatusCode::kAlreadyExists,
      "your organization already has a model with the same make, model, type, trim and range");
}

absl::Status NoSuchModel(uint64_t id) {
  return domain::Refusal(absl::StatusCode::kNotFound, absl::StrCat("no model with id ", id));
}

}  // namespace

grpc::ServerWriteReactor<zeva::transactions::ModelSummary>* ZevModelsService::ListModels(
    grpc::CallbackServerContext* context, const zeva::transactions::ModelListRequest* request) {
  return guard_.Stream<zeva::transactions::ModelSummary>(
      context, "ListModels",
      [=](const Call& call, RowWriter<zeva::transactions::ModelSummary>* writer) -> absl::Status {
        const auth::Caller& caller = call.caller;
        const int64_t requested = OptionalId(request->organization());
        db::Scope scope = ScopeOf(caller);
        if (IsGovernment(caller)) {
          if (requested != 0) scope = db::Scope::Of(requested);
        } else if (requested != 0 && requested != caller.organization_id) {
          return domain::Refusal(absl::StatusCode::kPermissionDenied,
                                 "suppliers may list only their own organization's models");
        }
        zeva::transactions::ModelSummary summary;  // reused: no allocation per row
        absl::Status bad_row;
        absl::Status status =
            reads_.ListModels(scope, call.budget, [&](const db::VehicleRecord& v) {
              bad_row = Fill(v, &summary);
              return bad_row.ok() && !context->IsCancelled() && writer->Write(summary);
            });
        return bad_row.ok() ? status : bad_row;
      });
}

grpc::ServerUnaryReactor* ZevModelsService::GetModelDetails(
    grpc::CallbackServerContext* context, const zeva::transactions::ModelDetailsRequest* request,
    zeva::transactions::ModelDetails* response) {
  return guard_.Serve(context, "GetModelDetails", [=](const Call& call) -> absl::Status {
    const auth::Caller& caller = call.caller;
    auto id = RequiredId("id", request->id());
    if (!id.ok()) return id.status();
    auto found = store_.Find(*id, ScopeOf(caller), call.budget);
    if (!found.ok()) return found.status();
    // Another supplier's model is reported exactly like a missing one.
    if (!found->has_value()) return NoSuchModel(request->id());
    return Fill(**found, response);
  });
}

grpc::ServerUnaryReactor* ZevModelsService::CreateModelRequest(
    grpc::CallbackServerContext* context, const zeva::transactions::ModelCreateRequest* request,
    zeva::transactions::ModelCreateResponse* response) {
  return guard_.Serve(context, "CreateModelRequest", [=](const Call& call) -> absl::Status {
    const auth::Caller& caller = call.caller;
    if (absl::Status allowed = SuppliersOnly(caller, "create models"); !allowed.ok()) {
      return allowed;
    }
    auto model = domain::ValidateVehicleModel(request->make(), request->model(), request->type(),
                                              request->trim(), request->range());
    if (!model.ok()) return model.status();
    auto id = store_.Create(caller.organization_id, ToWrite(*model), call.budget);
    if (!id.ok()) return DuplicateMessage(id.status());
    response->set_id(static_cast<uint64_t>(*id));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ZevModelsService::UpdateModelRequest(
    grpc::CallbackServerContext* context, const zeva::transactions::ModelUpdateRequest* request,
    zeva::transactions::ModelUpdateResponse* /*response*/) {
  return guard_.Serve(context, "UpdateModelRequest", [=](const Call& call) -> absl::Status {
    const auth::Caller& caller = call.caller;
    if (absl::Status allowed = SuppliersOnly(caller, "update models"); !allowed.ok()) {
      return allowed;
    }
    auto id = RequiredId("id", request->id());
    if (!id.ok()) return id.status();
    auto model = domain::ValidateVehicleModel(request->make(), request->model(), request->type(),
                                              request->trim(), request->range());
    if (!model.ok()) return model.status();
    auto updated = store_.Update(*id, caller.organization_id, ToWrite(*model), call.budget);
    if (!updated.ok()) return DuplicateMessage(updated.status());
    if (!*updated) return NoSuchModel(request->id());
    return absl::OkStatus();
  });
}

}  // namespace zeva::services
