#pragma once
// zeva.credits.v1.IdentityService: who the caller is, as the server sees it (organization,
// roles of its side, e-mail).

#include "services/call_guard.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::services {

class IdentityService final : public zeva::credits::v1::IdentityService::CallbackService {
 public:
  explicit IdentityService(CallGuard& guard) : guard_(guard) {}

  grpc::ServerUnaryReactor* GetCurrentUser(grpc::CallbackServerContext* context,
                                           const zeva::credits::v1::GetCurrentUserRequest* request,
                                           zeva::credits::v1::CurrentUser* response) override;

 private:
  CallGuard& guard_;
};

}  // namespace zeva::services
