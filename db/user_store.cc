#include "db/user_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_split.h"

namespace zeva::db {
namespace {

constexpr Statement kFindUser{
    "find_user",
    "SELECT u.username, o.id, o.name, o.organization_type = 'GOVERNMENT', coalesce(u.email, ''), "
    "coalesce((SELECT string_agg(r.role::text, ',' ORDER BY r.role) FROM user_roles r "
    "WHERE r.username = u.username), '') "
    "FROM users u JOIN organizations o ON o.id = u.organization_id "
    "WHERE u.username = $1"};

}  // namespace

const std::vector<Statement>& UserStore::Statements() {
  static const std::vector<Statement> statements{kFindUser};
  return statements;
}

absl::StatusOr<std::optional<UserRecord>> UserStore::Find(const std::string& username,
                                                          const Budget& budget) {
  return pool_.Run<std::optional<UserRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<UserRecord>> {
        // One statement: a nontransaction saves the BEGIN/COMMIT round trips.
        pqxx::nontransaction tx(c);
        const pqxx::result rows = tx.exec_prepared(kFindUser.name, username);
        if (rows.empty()) return std::nullopt;
        const pqxx::row row = rows[0];
        const std::string roles = row[5].as<std::string>();
        return UserRecord{row[0].as<std::string>(),
                          row[1].as<int64_t>(),
                          row[2].as<std::string>(),
                          row[3].as<bool>(),
                          row[4].as<std::string>(),
                          roles.empty() ? std::vector<std::string>{} : absl::StrSplit(roles, ',')};
      });
}

}  // namespace zeva::db
