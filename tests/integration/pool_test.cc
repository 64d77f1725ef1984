// The connection pool in-process, against a real PostgreSQL: waits, the retry after a broken
// connection, the per-owner share, and statements bounded by the lease's deadline.

#include "db/pool.h"

#include <catch2/catch.hpp>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "tests/support/postgres_server.h"
#include "tests/support/service_fixture.h"
#include "tests/support/wait_until.h"

using zeva::db::Budget;
using zeva::db::Clock;
using zeva::db::ConnectionPool;
using zeva::db::PoolOptions;
using Steady = std::chrono::steady_clock;

namespace {

constexpr char kApplication[] = "zeva-pool-test";

PoolOptions Options(const std::string& url, int size, int max_per_owner = 0) {
  PoolOptions options;
  options.url = url;
  options.size = size;
  options.acquire_timeout = std::chrono::milliseconds(500);
  options.application_name = kApplication;
  options.max_per_owner = max_per_owner;
  return options;
}

Budget In(std::chrono::milliseconds left, std::string owner = "") {
  return Budget{Clock::now() + left, std::move(owner)};
}

// Runs `sql` on a lease and returns the first column of the first row.
absl::StatusOr<std::string> Query(ConnectionPool& pool, const Budget& budget,
                                  const std::string& sql) {
  return pool.Run<std::string>(budget, [&](pqxx::connection& c) -> absl::StatusOr<std::string> {
    pqxx::nontransaction tx(c);
    return tx.exec1(sql)[0].as<std::string>("");
  });
}

// Holds a lease (sleeping in PostgreSQL) on another thread; returns once it is leased (or, on
// a machine too slow to see it, already given back).
std::future<absl::StatusOr<std::string>> HoldLease(ConnectionPool& pool, const std::string& owner,
                                                   double seconds) {
  const int in_use = pool.Stats().in_use;
  auto held = std::async(std::launch::async, [&pool, owner, seconds] {
    return Query(pool, In(std::chrono::seconds(10), owner),
                 "SELECT pg_sleep(" + std::to_string(seconds) + ")::text");
  });
  zeva::testing::WaitUntil(
      [&] {
        return pool.Stats().in_use > in_use ||
               held.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(5));
  return held;
}

double SecondsSince(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

}  // namespace

TEST_CASE("pool: a caller waits for a busy connection, then gets UNAVAILABLE", "[pool]") {
  const std::string url = zeva::testing::PostgresServer::Shared().CreateDatabase();
  ConnectionPool pool(Options(url, 1));
  {  // released within the wait: served
    auto held = HoldLease(pool, "a", 0.3);
    auto served = Query(pool, In(std::chrono::seconds(5)), "SELECT 'served'");
    REQUIRE(served.ok());
    CHECK(*served == "served");
    CHECK(held.get().ok());
  }
  {  // held past the acquire timeout (500 ms): UNAVAILABLE, not a hang
    auto held = HoldLease(pool, "a", 1.5);
    const auto started = Steady::now();
    auto refused = Query(pool, In(std::chrono::seconds(5)), "SELECT 1");
    CHECK(refused.status().code() == absl::StatusCode::kUnavailable);
    CHECK(SecondsSince(started) < 1.0);
    CHECK(held.get().ok());
  }
  CHECK(pool.Stats().size == 1);
  CHECK(pool.Stats().in_use == 0);
  CHECK(pool.Stats().waiting == 0);
}

TEST_CASE("pool: connections killed by the server are replaced, the work retried once", "[pool]") {
  const std::string url = zeva::testing::PostgresServer::Shared().CreateDatabase();
  ConnectionPool pool(Options(url, 2));
  auto first = Query(pool, In(std::chrono::seconds(5)), "SELECT pg_backend_pid()::text");
  REQUIRE(first.ok());
  zeva::testing::Sql(url,
                     "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                     "application_name = '" +
                         std::string(kApplication) + "'");
  // The backend is gone (pg_terminate_backend only signals it).
  CHECK(zeva::testing::WaitUntil(
      [&] {
        return zeva::testing::Sql(
                   url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                            std::string(kApplication) + "'") == "0";
      },
      std::chrono::seconds(10)));
  auto second = Query(pool, In(std::chrono::seconds(5)), "SELECT pg_backend_pid()::text");
  REQUIRE(second.ok());
  CHECK(*second != *first);
  CHECK(pool.Stats().broken >= 1);

  // Killed while in use: the lease breaks mid-work and the work runs again on a new one.
  int attempts = 0;
  auto retried = pool.Run<std::string>(
      In(std::chrono::seconds(5)), [&](pqxx::connection& c) -> absl::StatusOr<std::string> {
        ++attempts;
        pqxx::nontransaction tx(c);
        if (attempts == 1) tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
        return tx.exec1("SELECT 'second try'")[0].as<std::string>();
      });
  REQUIRE(retried.ok());
  CHECK(*retried == "second try");
  CHECK(attempts == 2);
}

TEST_CASE("pool: an owner holds at most its share; others are still served", "[pool]") {
  const std::string url = zeva::testing::PostgresServer::Shared().CreateDatabase();
  ConnectionPool pool(Options(url, 3, 1));
  auto held = HoldLease(pool, "greedy", 1.5);
  const auto started = Steady::now();
  auto refused = Query(pool, In(std::chrono::seconds(5), "greedy"), "SELECT 1");
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(SecondsSince(started) < 1.0);
  auto other = Query(pool, In(std::chrono::seconds(5), "modest"), "SELECT 'other'");
  REQUIRE(other.ok());
  CHECK(*other == "other");
  auto unowned = Query(pool, In(std::chrono::seconds(5)), "SELECT 'unowned'");
  CHECK(unowned.ok());
  CHECK(held.get().ok());
  CHECK(pool.Stats().owner_refusals == 1);
  // Its lease back, the owner is served again.
  CHECK(Query(pool, In(std::chrono::seconds(5), "greedy"), "SELECT 1").ok());
}

TEST_CASE("pool: every statement is bounded by the lease's deadline", "[pool]") {
  const std::string url = zeva::testing::PostgresServer::Shared().CreateDatabase();
  ConnectionPool pool(Options(url, 1));
  // A long deadline first, so that the session's timeout must be lowered for the next lease.
  REQUIRE(Query(pool, In(std::chrono::seconds(60)), "SELECT 1").ok());
  const auto started = Steady::now();
  auto slow = Query(pool, In(std::chrono::milliseconds(500)), "SELECT pg_sleep(5)::text");
  CHECK(slow.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(SecondsSince(started) < 1.0);
  // The timeout set is the lease's, seen from inside the session.
  auto shown = Query(pool, In(std::chrono::seconds(10)),
                     "SELECT (extract(epoch FROM current_setting('statement_timeout')::interval) "
                     "* 1000)::bigint::text");
  REQUIRE(shown.ok());
  INFO(*shown);
  CHECK(std::stol(*shown) > 8500);
  CHECK(std::stol(*shown) <= 9000);
  // A deadline already past reaches no database at all.
  int ran = 0;
  auto late = pool.Run<int>(Budget{Clock::now() - std::chrono::seconds(1), ""},
                            [&](pqxx::connection&) -> absl::StatusOr<int> { return ++ran; });
  CHECK(late.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(ran == 0);
}
