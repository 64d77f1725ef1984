#pragma once
// The authenticated caller handed to every handler, and the user lookup the authenticator
// needs (implemented in db/, injected so that auth/ knows nothing about PostgreSQL).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace zeva::auth {

enum class OrganizationType { kGovernment, kVehicleSupplier };

struct Caller {
  std::string user_id;  // users.username (token claim `user_id`)
  int64_t organization_id = 0;
  std::string organization_name;
  OrganizationType organization_type = OrganizationType::kVehicleSupplier;
  std::vector<std::string> roles;  // as stored (SIGNING_AUTHORITY, DIRECTOR, ...), sorted
  std::string email;               // "" when none
};

// Looks a user up with its organization, giving up at `deadline` (the call's). nullopt: no
// such user. An error Status (e.g. UNAVAILABLE when the database is down) is passed through
// by Authenticate unchanged.
using UserLookup = std::function<absl::StatusOr<std::optional<Caller>>(
    const std::string& user_id, std::chrono::system_clock::time_point deadline)>;

}  // namespace zeva::auth
