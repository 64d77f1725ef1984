#include "services/organization_details_service.h"

#include "services/caller_scope.h"

namespace zeva::services {

grpc::ServerUnaryReactor* OrganizationDetailsService::GetMyOrganization(
    grpc::CallbackServerContext* context,
    const zeva::organizations::GetMyOrganizationRequest* /*request*/,
    zeva::organizations::MyOrganizationResponse* response) {
  // Authentication already looked the organization up with the user.
  return guard_.Serve(context, "GetMyOrganization", [=](const Call& call) {
    const auth::Caller& caller = call.caller;
    response->set_name(caller.organization_name);
    response->set_type(IsGovernment(caller) ? zeva::organizations::GOVERNMENT
                                            : zeva::organizations::VEHICLE_SUPPLIER);
    return absl::OkStatus();
  });
}

}  // namespace zeva::services
