#include "tests/support/service_fixture.h"

#include <pqxx/pqxx>
#include <stdexcept>

#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace zeva::testing {

std::string MigratedDatabase(bool fixtures) {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  std::vector<std::string> argv{MigrateBinary(), "upgrade", "head"};
  if (fixtures) argv.push_back("--fixtures");
  CommandResult result = RunCommand(argv, {{"DATABASE_URL", url}});
  if (result.exit_code != 0) {
    throw std::runtime_error("zeva-migrate upgrade head failed:\n" + result.output);
  }
  return url;
}

std::map<std::string, std::string> ServerEnv(const std::string& database_url) {
  return {{"DATABASE_URL", database_url},
          {"KEYCLOAK_RS256_PUBLIC_KEY", TestKey(0).public_pem},
          {"KEYCLOAK_CERTS_URL", ""},
          {"KEYCLOAK_ISSUER", kTestIssuer},
          {"KEYCLOAK_AUDIENCE", kTestAudience}};
}

ServiceFixture::ServiceFixture(std::vector<std::string> flags, bool fixtures)
    : database_url_(MigratedDatabase(fixtures)) {
  server_ = std::make_unique<ServerProcess>(ServerEnv(database_url_), std::move(flags));
  server_->WaitUntilServing();
  channel_ = server_->Channel();
}

std::unique_ptr<grpc::ClientContext> ContextFor(const std::string& user_id) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization",
                       "Bearer " + SignToken(ValidClaims(user_id), TestKey(0).private_pem, ""));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

std::string Sql(const std::string& database_url, const std::string& statement) {
  pqxx::connection connection(database_url);
  pqxx::work tx(connection);
  const pqxx::result rows = tx.exec(statement);
  tx.commit();
  if (rows.empty() || rows.columns() == 0 || rows[0][0].is_null()) return "";
  return rows[0][0].as<std::string>();
}

void AddTransactions(const std::string& database_url, int count, const std::string& organization) {
  Sql(database_url,
      "INSERT INTO transactions (type, credits, transaction_amount, organization_id) "
      "SELECT 'VALIDATION', i % 1000, i, (SELECT id FROM organizations WHERE name = '" +
          organization + "') FROM generate_series(1, " + std::to_string(count) + ") i");
}

}  // namespace zeva::testing
