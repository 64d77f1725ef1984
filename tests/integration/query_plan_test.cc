// Query plans the benchmark found wrong. After five executions PostgreSQL may run a prepared
// statement with a generic plan, which knows nothing of its parameters; streams therefore ask
// for custom plans (kCustomPlans). These tests repeat a page's statement the way a long
// stream does and check that it still reads only the caller's rows (no timing asserted).

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <string>

#include "db/session.h"
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

TEST_CASE("an organization's transactions are listed through its index however often listed",
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
  // On a connection of our own, set up as the pool sets up its connections (db/session.h).
  pqxx::connection connection(url);
  pqxx::work tx(connection);
  // The worst case first: the session would use generic plans at once (on this data they walk
  // the primary key); kCustomPlans must override that for the transaction.
  tx.exec("SET plan_cache_mode = force_generic_plan");
  tx.exec(zeva::db::kCustomPlans.sql);
  tx.exec(std::string("PREPARE listing (bigint, bigint, bigint) AS ") +
          SqlOf("list_transactions_of_organization"));
  for (int i = 0; i < 8; ++i) tx.exec("EXECUTE listing(" + supplier + ", 0, 500)");
  std::string text;
  for (const auto& row : tx.exec("EXPLAIN ANALYZE EXECUTE listing(" + supplier + ", 0, 500)")) {
    text += row[0].as<std::string>() + "\n";
  }
  INFO(text);
  CHECK(text.find("transactions_organization_id_id_idx") != std::string::npos);
  CHECK(text.find("Rows Removed by Filter") == std::string::npos);
  // And it still answers: the supplier's three fixture rows.
  CHECK(tx.exec("EXECUTE listing(" + supplier + ", 0, 500)").size() == 3);

  // A later batch of the large organization starts at its place in the index, not at the
  // organization's first row: a few pages read, not the ~50 before it.
  const std::string large =
      zeva::testing::Sql(url, "SELECT id FROM organizations WHERE name = 'Large Supplier'");
  const std::string after = zeva::testing::Sql(
      url, "SELECT max(id) - 1000 FROM transactions WHERE organization_id = " + large);
  const pqxx::result explained =
      tx.exec("EXPLAIN (ANALYZE, BUFFERS) EXECUTE listing(" + large + ", " + after + ", 500)");
  std::string later;
  for (const auto& row : explained) later += row[0].as<std::string>() + "\n";
  INFO(later);
  const auto hit = later.find("shared hit=");
  REQUIRE(hit != std::string::npos);
  CHECK(std::stoi(later.substr(hit + 11)) < 20);
}
