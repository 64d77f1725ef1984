#pragma once
// zeva.organizations.OrganizationDetails: the caller's own organization.

#include "organizations.grpc.pb.h"
#include "services/call_guard.h"

namespace zeva::services {

class OrganizationDetailsService final
    : public zeva::organizations::OrganizationDetails::CallbackService {
 public:
  explicit OrganizationDetailsService(CallGuard& guard) : guard_(guard) {}

  grpc::ServerUnaryReactor* GetMyOrganization(
      grpc::CallbackServerContext* context,
      const zeva::organizations::GetMyOrganizationRequest* request,
      zeva::organizations::MyOrganizationResponse* response) override;

 private:
  CallGuard& guard_;
};

}  // namespace zeva::services
