#pragma once
// Users and their organizations, as authentication needs them.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pool.h"
#include "db/records.h"
#include "db/statement.h"

namespace zeva::db {

class UserStore {
 public:
  explicit UserStore(ConnectionPool& pool) : pool_(pool) {}
  // nullopt when no user has this username.
  absl::StatusOr<std::optional<UserRecord>> Find(const std::string& username, const Budget& budget);
  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
