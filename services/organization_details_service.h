#pragma once
// zeva.organizations.OrganizationDetails: the caller's own organization.

#include "organizations.grpc.pb.h"

namespace zeva::services {

class OrganizationDetailsService final
    : public zeva::organizations::OrganizationDetails::Service {};

}  // namespace zeva::services
