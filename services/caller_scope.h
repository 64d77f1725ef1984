#pragma once
// What a caller may see: government staff see every organization, a supplier only its own.

#include "auth/caller.h"
#include "db/records.h"

namespace zeva::services {

inline bool IsGovernment(const auth::Caller& caller) {
  return caller.organization_type == auth::OrganizationType::kGovernment;
}

inline db::Scope ScopeOf(const auth::Caller& caller) {
  return IsGovernment(caller) ? db::Scope::All() : db::Scope::Of(caller.organization_id);
}

}  // namespace zeva::services
