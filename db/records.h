#pragma once
// Plain rows as the stores return them. No gRPC or pqxx types.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zeva::db {

// Which organizations' rows a caller may see: one organization, or (government) all.
struct Scope {
  std::optional<int64_t> organization_id;  // nullopt: every organization
  static Scope All() { return Scope{std::nullopt}; }
  static Scope Of(int64_t organization_id) { return Scope{organization_id}; }
};

struct UserRecord {
  std::string username;
  int64_t organization_id = 0;
  std::string organization_name;
  bool government = false;
  std::string email;               // "" when none
  std::vector<std::string> roles;  // user_role names, sorted
};

// A vehicle model's fields, as written by create and update.
struct VehicleWrite {
  std::string make;
  std::string model;
  std::string type;
  std::string trim;
  int32_t range_km = 0;
  int64_t credit_hundredths = 0;
};

// A stored vehicle: its fields plus where it lives.
struct VehicleRecord : VehicleWrite {
  int64_t id = 0;
  int64_t organization_id = 0;
};

struct TransactionRecord {
  int64_t id = 0;
  std::string type;  // VALIDATION, REDUCTION, SOLD, BOUGHT
  int64_t amount_cents = 0;
  int64_t credits = 0;
  int64_t updated_unix_seconds = 0;
};

}  // namespace zeva::db
