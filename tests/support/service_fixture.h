#pragma once
// A migrated database (with the fixtures) and the real server in front of it, plus client
// helpers: what most end-to-end tests start from.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/jwt_test_keys.h"
#include "tests/support/server_process.h"

namespace zeva::testing {

// Creates a fresh database and runs `zeva-migrate upgrade head` on it (fixtures on request).
// Throws with the runner's output when it fails.
std::string MigratedDatabase(bool fixtures = true);

// The environment a server needs for `database_url` with the test key.
std::map<std::string, std::string> ServerEnv(const std::string& database_url);

// A context carrying `authorization: Bearer <token for user_id>` (the test key, which
// ServerEnv's servers trust) and a 30 s deadline.
std::unique_ptr<grpc::ClientContext> ContextFor(const std::string& user_id);

class ServiceFixture {
 public:
  explicit ServiceFixture(std::vector<std::string> flags = {}, bool fixtures = true);

  const std::string& database_url() const { return database_url_; }
  ServerProcess& server() { return *server_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // zeva::testing::ContextFor, for this fixture's server.
  std::unique_ptr<grpc::ClientContext> ContextFor(const std::string& user_id) {
    return zeva::testing::ContextFor(user_id);
  }

 private:
  std::string database_url_;
  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Runs one SQL statement (or several) on `database_url` and returns the first column of the
// first row as text ("" when there is none).
std::string Sql(const std::string& database_url, const std::string& statement);

// Adds `count` VALIDATION transactions (credits i % 1000, amount i) owned by the organization
// named `organization`: bulk data for streaming tests.
void AddTransactions(const std::string& database_url, int count, const std::string& organization);

}  // namespace zeva::testing
