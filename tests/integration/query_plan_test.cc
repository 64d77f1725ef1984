// Query plans the benchmark found wrong. After five executions PostgreSQL may run a prepared
// statement with a generic plan, which knows nothing of its parameters; these tests force
// that plan and check that it still reads only the caller's rows (no timing asserted).

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>

#include "db/transaction_store.h"
#include "tests/support/service_fixture.h"

namespace {

const char* SqlOf(const char* name) {
  for (const zeva::db::Statement& s : zeva::db::TransactionStore::Statements()) {
    if (std::string(s.name) == name) return s.sql;
  }
  FAIL("no statement named " << name);
  return "";
}

}  // namespace

TEST_CASE("an organization's transactions are listed through its index under a generic plan",
          "[bench]") {
  const std::string url = zeva::testing::MigratedDatabase(true);
  // One large organization beside the fixture supplier: a plan that walks the primary key
  // and filters would read all of its rows to list the supplier's three.
  zeva::testing::Sql(url,
                     "INSERT INTO organizations (name) VALUES ('Large Supplier');"
                     "INSERT INTO transactions (type, credits, transaction_amount, organization_id)"
                     " SELECT 'BOUGHT', 1, 1, id FROM organizations, generate_series(1, 20000)"
                     " WHERE name = 'Large Supplier';"
                     "ANALYZE transactions;");
  const std::string supplier = zeva::testing::Sql(
      url, "SELECT id FROM organizations WHERE name = 'Test Vehicle Supplier 1'");
  // EXPLAIN on a connection of our own, with the generic plan forced.
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  tx.exec("SET plan_cache_mode = force_generic_plan");
  tx.exec(std::string("PREPARE listing (bigint, bigint, bigint) AS ") +
          SqlOf("list_transactions_of_organization"));
  std::string text;
  for (const auto& row : tx.exec("EXPLAIN ANALYZE EXECUTE listing(" + supplier + ", 0, 500)")) {
    text += row[0].as<std::string>() + "\n";
  }
  INFO(text);
  CHECK(text.find("transactions_organization_id_id_idx") != std::string::npos);
  CHECK(text.find("Rows Removed by Filter") == std::string::npos);
  // And it still answers: the supplier's three fixture rows.
  CHECK(tx.exec("EXECUTE listing(" + supplier + ", 0, 500)").size() == 3);
}
