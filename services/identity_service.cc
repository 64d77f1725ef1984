#include "services/identity_service.h"

#include "domain/credit_ledger.h"
#include "services/caller_scope.h"

namespace zeva::services {

grpc::ServerUnaryReactor* IdentityService::GetCurrentUser(
    grpc::CallbackServerContext* context,
    const zeva::credits::v1::GetCurrentUserRequest* /*request*/,
    zeva::credits::v1::CurrentUser* response) {
  return guard_.Serve(
      context, "GetCurrentUser",
      [=](const Call& call) {
        const auth::Caller& caller = call.caller;
        const bool government = IsGovernment(caller);
        response->set_username(caller.user_id);
        auto* organization = response->mutable_organization();
        organization->set_id(static_cast<uint64_t>(caller.organization_id));
        organization->set_name(caller.organization_name);
        organization->set_type(government ? zeva::credits::v1::ORGANIZATION_TYPE_GOVERNMENT
                                          : zeva::credits::v1::ORGANIZATION_TYPE_VEHICLE_SUPPLIER);
        // Only the roles of the caller's side count (a supplier's DIRECTOR means nothing).
        for (const auto role : {domain::Role::kSigningAuthority, domain::Role::kZevaUser,
                                domain::Role::kEngineerAnalyst, domain::Role::kDirector}) {
          if (domain::HasRole(government, caller.roles, role)) {
            response->add_roles(domain::RoleName(role));
          }
        }
        response->set_email(caller.email);
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
