// The read caches (db/fresh_reads.h) against real replicas sharing one PostgreSQL: GetBalances
// and ListModels answer from memory, yet never show what a committed change replaced, whoever
// made the change (another replica, plain SQL), even while the LISTEN connection is lost.

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "db/change_feed.h"
#include "tests/support/ledger_client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/service_fixture.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/wait_until.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t kYear = 2021;

// A replica of its own in front of the fixture's database.
std::unique_ptr<ServerProcess> Replica(ServiceFixture& service,
                                       std::vector<std::string> flags = {}) {
  auto replica = std::make_unique<ServerProcess>(ServerEnv(service.database_url()), flags);
  replica->WaitUntilServing();
  return replica;
}

// Class A posted at kYear in `organization_id`'s balances (0: the caller's own), read through
// `channel`; nullopt when the call fails.
std::optional<int64_t> PostedThrough(const std::shared_ptr<grpc::Channel>& channel,
                                     const std::string& user, uint64_t organization_id = 0) {
  auto stub = credits::CreditLedgerService::NewStub(channel);
  auto context = ContextFor(user);
  credits::GetBalancesRequest request;
  request.set_organization_id(organization_id);
  credits::GetBalancesResponse response;
  if (!stub->GetBalances(context.get(), request, &response).ok()) return std::nullopt;
  int64_t posted = 0;
  for (const auto& b : response.balances()) {
    if (b.model_year() == kYear && b.credit_class() == credits::CREDIT_CLASS_A) {
      posted = b.posted().hundredths();
    }
  }
  return posted;
}

// The ids of the models `user` lists through `channel`; nullopt when the call fails.
std::optional<std::set<uint64_t>> ModelsThrough(ServiceFixture& service,
                                                const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& user) {
  auto stub = zeva::transactions::ZEVModels::NewStub(channel);
  auto context = service.ContextFor(user);
  auto reader = stub->ListModels(context.get(), zeva::transactions::ModelListRequest());
  std::set<uint64_t> ids;
  zeva::transactions::ModelSummary summary;
  while (reader->Read(&summary)) ids.insert(summary.id());
  if (!reader->Finish().ok()) return std::nullopt;
  return ids;
}

std::string InsertModel(const std::string& database_url, const std::string& organization,
                        const std::string& name) {
  return Sql(database_url,
             "INSERT INTO vehicles (organization_id, type, make, model, \"trim\", range, credits) "
             "SELECT id, 'BEV', 'Fresh', '" +
                 name + "', 'base', 400, 2.00 FROM organizations WHERE name = '" + organization +
                 "' RETURNING id");
}

// Four callers, ten times each, racing one another (and a feed's thread): each NOTIFYs
// `channel` with a payload of its own ("<prefix><caller>-<i>"), then `check`s that payload.
// Returns how many payloads were sent.
int RaceNotifiers(const std::string& url, const std::string& channel, const std::string& prefix,
                  const std::function<void(const std::string& payload)>& check) {
  constexpr int kCallers = 4, kEach = 10;
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kEach; ++i) {
        const std::string payload = prefix + std::to_string(c) + "-" + std::to_string(i);
        Sql(url, "SELECT pg_notify('" + channel + "', '" + payload + "')");
        check(payload);
      }
    });
  }
  for (auto& t : callers) t.join();
  return kCallers * kEach;
}

// Whether `feed` listens within 10 s.
bool Connected(const zeva::db::ChangeFeed& feed) {
  return WaitUntil([&] { return feed.connected(); }, 10s, 20ms);
}

double Metric(const ServerProcess& server, const std::string& name) {
  return MetricValue(ScrapeMetrics(server.metrics_port()), name);
}

// Migrates `url` with the fixtures and gives Test Vehicle Supplier 1 `hundredths` (kYear,
// class A) in one balanced journal.
void MigrateWithPosted(const std::string& url, int64_t hundredths) {
  const CommandResult migrated =
      RunCommand({MigrateBinary(), "upgrade", "head", "--fixtures"}, {{"DATABASE_URL", url}});
  INFO(migrated.output);
  REQUIRE(migrated.exit_code == 0);
  const std::string amount = std::to_string(hundredths);
  Sql(url,
      "WITH o AS (SELECT (SELECT id FROM organizations WHERE name = 'Test Vehicle Supplier 1') "
      "AS vs, (SELECT id FROM organizations WHERE organization_type = 'GOVERNMENT') AS gov), "
      "j AS (INSERT INTO credit_journals (kind, posted_by, reason) VALUES ('ADJUSTMENT', "
      "'test', 'seed') RETURNING id), e AS (INSERT INTO credit_ledger_entries (journal_id, "
      "organization_id, model_year, credit_class, amount) SELECT j.id, o.vs, 2021, "
      "'A'::credit_class, " +
          amount + " FROM j, o UNION ALL SELECT j.id, o.gov, 2021, 'A', -" + amount +
          " FROM j, o) INSERT INTO credit_accounts (organization_id, model_year, credit_class, "
          "posted) SELECT vs, 2021, 'A', " +
          amount + " FROM o");
}

}  // namespace

// Also under TSan ([change_feed]): no gRPC in this process, whose uninstrumented internals
// TSan would misreport; the feed's thread and several callers race here.
TEST_CASE("CatchUp returns only once every change committed before it has been handed on",
          "[fresh_reads][change_feed]") {
  // The caches' whole claim rests on this: PostgreSQL sends a LISTEN session its pending
  // notifications before it answers a later query. The handler here is slow on purpose (as a
  // busy replica's may be): a CatchUp that merely trusted notifications to arrive in time
  // would return before the handler saw the change.
  const std::string url = PostgresServer::Shared().CreateDatabase();
  std::mutex mu;
  std::set<std::string> seen;
  int resets = 0;
  zeva::db::ChangeFeed feed(
      {url, {"fresh_a", "fresh_b"}, "fresh-reads-test", 5, std::chrono::milliseconds(100)},
      [&](const std::string& channel, const std::string& payload) {
        std::this_thread::sleep_for(5ms);  // slow on purpose (see above)
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(channel + ":" + payload);
      },
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        ++resets;
      });
  REQUIRE(Connected(feed));
  for (int i = 0; i < 30; ++i) {
    const std::string channel = i % 2 == 0 ? "fresh_a" : "fresh_b";
    Sql(url, "SELECT pg_notify('" + channel + "', '" + std::to_string(i) + "')");
    REQUIRE(feed.CatchUp(std::chrono::system_clock::now() + 5s));
    std::lock_guard<std::mutex> lock(mu);
    CHECK(seen.count(channel + ":" + std::to_string(i)) == 1);
  }
  CHECK(feed.stats().round_trips >= 30);

  // Callers racing one another and the feed's thread: each sees its own change.
  std::atomic<int> unseen{0}, failed{0};
  RaceNotifiers(url, "fresh_b", "c", [&](const std::string& payload) {
    if (!feed.CatchUp(std::chrono::system_clock::now() + 5s)) {
      ++failed;
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (seen.count("fresh_b:" + payload) == 0) ++unseen;
  });
  CHECK(failed == 0);
  CHECK(unseen == 0);

  // Ended by the database: the feed listens again on its own, telling its owner to forget
  // everything first (whatever was announced meanwhile went to nobody), and catches up again.
  Sql(url,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'fresh-reads-test'");
  WaitUntil([&] { return feed.stats().connects >= 2; }, 10s, 20ms);
  CHECK(feed.stats().connects == 2);
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(resets == 2);
  }
  Sql(url, "SELECT pg_notify('fresh_a', 'after')");
  REQUIRE(feed.CatchUp(std::chrono::system_clock::now() + 5s));
  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen.count("fresh_a:after") == 1);
}

// Also under TSan ([change_feed]), like the test above.
TEST_CASE("CatchUpThen hands on the same proof without a waiting thread, and gives up in time",
          "[fresh_reads][change_feed]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  std::mutex mu;
  std::condition_variable answered;
  std::set<std::string> seen;
  zeva::db::ChangeFeed feed(
      {url, {"then_a"}, "fresh-reads-then-test", 5, std::chrono::milliseconds(100)},
      [&](const std::string&, const std::string& payload) {
        std::this_thread::sleep_for(5ms);  // slow on purpose, as in the test above
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(payload);
      },
      [] {});
  REQUIRE(Connected(feed));

  // Callers racing one another: each continuation runs once, not on its caller's thread, and
  // sees its caller's change already handed on.
  std::atomic<int> unseen{0}, failed{0}, on_caller{0}, runs{0};
  const int raced = RaceNotifiers(url, "then_a", "t", [&](const std::string& payload) {
    const auto caller = std::this_thread::get_id();
    bool done = false;
    const bool registered =
        feed.CatchUpThen(std::chrono::system_clock::now() + 5s, [&](bool caught_up) {
          std::lock_guard<std::mutex> lock(mu);
          ++runs;
          if (!caught_up) ++failed;
          if (seen.count(payload) == 0) ++unseen;
          if (std::this_thread::get_id() == caller) ++on_caller;
          done = true;
          answered.notify_all();
        });
    if (!registered) {
      ++failed;
      return;
    }
    std::unique_lock<std::mutex> lock(mu);
    answered.wait(lock, [&] { return done; });
  });
  CHECK(failed == 0);
  CHECK(unseen == 0);
  CHECK(on_caller == 0);
  CHECK(runs == raced);

  // A database that stops answering (SIGSTOP): the round trip never comes back, and the
  // continuation still runs, with false, soon after max_wait (1 s) instead of never.
  PostgresServer::Shared().Freeze();
  std::promise<bool> frozen_answer;
  const auto asked = std::chrono::steady_clock::now();
  const bool registered =
      feed.CatchUpThen(std::chrono::system_clock::now() + 30s,
                       [&](bool caught_up) { frozen_answer.set_value(caught_up); });
  auto future = frozen_answer.get_future();
  const bool in_time = future.wait_for(5s) == std::future_status::ready;
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
  PostgresServer::Shared().Thaw();
  REQUIRE(registered);
  REQUIRE(in_time);
  CHECK_FALSE(future.get());
  CHECK(took >= 0.9);
  CHECK(took < 3.0);

  // Thawed, the same connection answers again.
  Sql(url, "SELECT pg_notify('then_a', 'thawed')");
  std::promise<bool> thawed_answer;
  REQUIRE(feed.CatchUpThen(std::chrono::system_clock::now() + 5s,
                           [&](bool caught_up) { thawed_answer.set_value(caught_up); }));
  auto thawed = thawed_answer.get_future();
  REQUIRE(thawed.wait_for(10s) == std::future_status::ready);
  CHECK(thawed.get());
  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen.count("thawed") == 1);
}

TEST_CASE("CatchUpThen without a connection says so at once and never runs its continuation",
          "[fresh_reads][change_feed]") {
  // Port 1: nothing listens, so the feed never connects.
  zeva::db::ChangeFeed feed(
      {"postgresql://zeva@127.0.0.1:1/zeva",
       {"then_b"},
       "nobody",
       2,
       std::chrono::milliseconds(100)},
      [](const std::string&, const std::string&) {}, [] {});
  std::atomic<int> runs{0};
  CHECK_FALSE(feed.CatchUpThen(std::chrono::system_clock::now() + 5s, [&](bool) { ++runs; }));
  CHECK_FALSE(feed.CatchUp(std::chrono::system_clock::now() + 5s));
  // Stays a sleep: an absence (the continuation never runs) is seen only over time; 300 ms is
  // a few sweeps of the feed.
  std::this_thread::sleep_for(300ms);
  CHECK(runs == 0);
}

TEST_CASE("balances changed through one replica are never read stale through another",
          "[fresh_reads]") {
  // Writers adjust Test Vehicle Supplier 1 through replica A; readers read it (as the supplier
  // and as government, whose view sums every supplier) through replica B, which caches. A
  // reader notes how many adjustments were acknowledged before it asks: the balance it gets
  // must hold at least those.
  ServiceFixture a;
  auto b = Replica(a);
  LedgerClient client(a);
  const uint64_t vs1 = OrganizationId(a.database_url(), "Test Vehicle Supplier 1");
  const auto base = PostedThrough(b->Channel(), "test_vs_1");
  const auto government_base = PostedThrough(b->Channel(), "test_gov_1");
  REQUIRE(base.has_value());
  REQUIRE(government_base.has_value());

  constexpr int64_t kWriters = 2, kAdjustmentsEach = 60;
  const int64_t settled = *base + kWriters * kAdjustmentsEach * 100;
  std::atomic<int64_t> acknowledged{0};
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> write_failures{0}, read_failures{0}, stale{0}, reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kAdjustmentsEach; ++i) {
        const std::string key = "fresh-" + std::to_string(w) + "-" + std::to_string(i);
        if (client.AdjustOne(key, vs1, kYear, credits::CREDIT_CLASS_A, 100).status.ok()) {
          ++acknowledged;
        } else {
          ++write_failures;
        }
      }
      --writers_left;
    });
  }
  for (const std::string user : {"test_vs_1", "test_gov_1"}) {
    threads.emplace_back([&, user] {
      const bool government = user == "test_gov_1";
      while (writers_left.load() > 0) {
        const int64_t floor = acknowledged.load();
        const auto posted = PostedThrough(b->Channel(), user);
        if (!posted) {
          ++read_failures;
          continue;
        }
        ++reads;
        // The government's side is minus the suppliers' total.
        const bool fresh =
            government ? *posted <= *government_base - floor * 100 : *posted >= *base + floor * 100;
        if (!fresh) ++stale;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(write_failures == 0);
  CHECK(read_failures == 0);
  CHECK(reads > 20);
  CHECK(stale == 0);
  // Settled: both replicas agree with the database, and B answered from memory (otherwise
  // this test would prove nothing about the cache).
  CHECK(PostedThrough(b->Channel(), "test_vs_1") == settled);
  CHECK(PostedThrough(a.channel(), "test_vs_1") == settled);
  CHECK(PostedThrough(b->Channel(), "test_vs_1") == settled);
  CHECK(Metric(*b, "zeva_balance_cache_hits_total") > 0);
  CHECK(Metric(*b, "zeva_balance_cache_misses_total") > 0);
  CHECK(Metric(*b, "zeva_read_cache_listening") == 1);
  CHECK(LedgerViolations(a.database_url()).empty());
}

TEST_CASE("GetBalances calls waiting on a frozen database hold none of gRPC's own threads",
          "[fresh_reads]") {
  // GetBalances runs on gRPC's callback threads (two on two cores), which also answer health
  // checks. Its waiting (for the LISTEN round trip, the database) must happen elsewhere: were
  // it done there, a stuck database would make the liveness probe fail and restart the pod.
  ServiceFixture service;
  auto& server = service.server();
  const std::string supplier =
      Sql(service.database_url(), "SELECT organization_id FROM users WHERE username = 'test_vs_1'");
  REQUIRE(PostedThrough(service.channel(), "test_vs_1").has_value());  // cached now
  REQUIRE(PostedThrough(service.channel(), "test_gov_1").has_value());

  PostgresServer::Shared().Freeze();
  std::atomic<int> ended_in_time{0}, ok{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 16; ++c) {
    callers.emplace_back([&, c] {
      auto stub = credits::CreditLedgerService::NewStub(service.channel());
      // Cached own balances, a government reading a supplier's (a kind lookup first), and
      // one with a token never seen (its user lookup waits too).
      const std::string user = c % 3 == 0 ? "test_vs_1" : c % 3 == 1 ? "test_gov_1" : "test_vs_2";
      auto context = service.ContextFor(user);
      context->set_deadline(std::chrono::system_clock::now() + 3s);
      credits::GetBalancesRequest request;
      if (c % 3 == 1) request.set_organization_id(std::stoull(supplier));
      credits::GetBalancesResponse response;
      const auto started = std::chrono::steady_clock::now();
      if (stub->GetBalances(context.get(), request, &response).ok()) ++ok;
      if (std::chrono::steady_clock::now() - started < 5s) ++ended_in_time;
    });
  }
  // Stays a pause: nothing outside the server tells that every call is in and waiting (the
  // database is frozen); a probe taken too early could only pass, never fail.
  std::this_thread::sleep_for(500ms);
  std::vector<std::string> liveness;
  for (int i = 0; i < 5; ++i) {
    liveness.push_back(server.Health(""));  // 2 s deadline each
    std::this_thread::sleep_for(200ms);     // paces the probes over the calls' wait
  }
  for (auto& t : callers) t.join();
  PostgresServer::Shared().Thaw();

  for (const std::string& answer : liveness) CHECK(answer == "SERVING");
  CHECK(ended_in_time == 16);
  CHECK(ok == 0);  // nothing was answered from memory without its proof
  // Thawed, the same replica answers again.
  std::optional<int64_t> after;
  WaitUntil(
      [&] {
        after = PostedThrough(service.channel(), "test_vs_1");
        return after.has_value();
      },
      30s, 200ms);
  CHECK(after.has_value());
  CHECK(server.Running());
}

TEST_CASE("a model added in plain SQL is listed at once, by its supplier and by government",
          "[fresh_reads]") {
  ServiceFixture service;
  // The cache serves only while its LISTEN connection is up (until then reads bypass it): a
  // server just ready may not listen yet.
  REQUIRE(WaitUntil([&] { return Metric(service.server(), "zeva_read_cache_listening") == 1; }, 30s,
                    50ms));
  const auto before = ModelsThrough(service, service.channel(), "test_vs_1");
  const auto government_before = ModelsThrough(service, service.channel(), "test_gov_1");
  REQUIRE(before.has_value());
  REQUIRE(government_before.has_value());
  // Cached now: the second read is a hit.
  CHECK(ModelsThrough(service, service.channel(), "test_vs_1") == before);
  CHECK(Metric(service.server(), "zeva_model_cache_hits_total") >= 1);

  const uint64_t added =
      std::stoull(InsertModel(service.database_url(), "Test Vehicle Supplier 1", "Sql-1"));
  auto after = ModelsThrough(service, service.channel(), "test_vs_1");
  REQUIRE(after.has_value());
  CHECK(after->size() == before->size() + 1);
  CHECK(after->count(added) == 1);
  auto government_after = ModelsThrough(service, service.channel(), "test_gov_1");
  REQUIRE(government_after.has_value());
  CHECK(government_after->count(added) == 1);
  // Another supplier's list is not touched by it.
  const auto other = ModelsThrough(service, service.channel(), "test_vs_2");
  REQUIRE(other.has_value());
  CHECK(other->count(added) == 0);

  // Deleted in SQL: gone at once as well.
  Sql(service.database_url(), "DELETE FROM vehicles WHERE id = " + std::to_string(added));
  CHECK(ModelsThrough(service, service.channel(), "test_vs_1") == before);
}

TEST_CASE("without its LISTEN connection a replica reads the database, then listens again",
          "[fresh_reads]") {
  ServiceFixture service;
  auto& server = service.server();
  REQUIRE(ModelsThrough(service, service.channel(), "test_vs_1").has_value());
  REQUIRE(ModelsThrough(service, service.channel(), "test_vs_1").has_value());
  REQUIRE(Metric(server, "zeva_read_cache_listening") == 1);

  // The database ends the LISTEN session; what changes meanwhile is announced to nobody.
  CHECK(Sql(service.database_url(),
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = "
            "'zeva-transaction-service-listen') t") == "1");
  const uint64_t added =
      std::stoull(InsertModel(service.database_url(), "Test Vehicle Supplier 1", "Unheard"));
  for (int i = 0; i < 5; ++i) {
    const auto listed = ModelsThrough(service, service.channel(), "test_vs_1");
    REQUIRE(listed.has_value());
    CHECK(listed->count(added) == 1);
  }
  // It listens again on its own, and answers from memory again.
  REQUIRE(WaitUntil([&] { return Metric(server, "zeva_read_cache_listening") == 1; }, 30s, 100ms));
  const double hits = Metric(server, "zeva_model_cache_hits_total");
  for (int i = 0; i < 3; ++i) {
    const auto listed = ModelsThrough(service, service.channel(), "test_vs_1");
    REQUIRE(listed.has_value());
    CHECK(listed->count(added) == 1);
  }
  CHECK(Metric(server, "zeva_model_cache_hits_total") > hits);
  CHECK(server.Log().find("lost the LISTEN connection") != std::string::npos);
}

TEST_CASE("--read-cache=false answers every read from the database, with no LISTEN connection",
          "[fresh_reads]") {
  ServiceFixture service({"--read-cache=false"});
  for (int i = 0; i < 3; ++i) {
    REQUIRE(PostedThrough(service.channel(), "test_vs_1").has_value());
    REQUIRE(ModelsThrough(service, service.channel(), "test_vs_1").has_value());
  }
  const std::string metrics = ScrapeMetrics(service.server().metrics_port());
  CHECK(MetricValue(metrics, "zeva_balance_cache_hits_total") == 0);
  CHECK(MetricValue(metrics, "zeva_model_cache_hits_total") == 0);
  CHECK(MetricValue(metrics, "zeva_read_cache_listening") == 0);
  CHECK(Sql(service.database_url(),
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = "
            "'zeva-transaction-service-listen'") == "0");
}

TEST_CASE("a fresh database behind the same URL: every cached read is dropped on reconnect",
          "[fresh_reads]") {
  // A PostgreSQL of this test's own, replaced by a fresh cluster (another system identifier)
  // on the same port, as after a failover to a server that never sent the replica a NOTIFY.
  auto pg = PostgresServer::Own();
  const std::string url = pg->admin_url();
  const auto populate = [&](int64_t hundredths) { MigrateWithPosted(url, hundredths); };
  populate(100);
  ServerProcess server(ServerEnv(url), {});
  server.WaitUntilServing();
  // Listening, then read twice: the second answer comes from memory.
  const auto wait_for = [&](const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    return condition();
  };
  REQUIRE(wait_for([&] { return Metric(server, "zeva_read_cache_listening") == 1; }));
  REQUIRE(PostedThrough(server.Channel(), "test_vs_1") == 100);
  REQUIRE(PostedThrough(server.Channel(), "test_vs_1") == 100);
  REQUIRE(Metric(server, "zeva_balance_cache_hits_total") >= 1);
  CHECK(Metric(server, "zeva_read_cache_server_changes_total") == 0);

  // Another cluster behind the URL, with 250: it never held 100, so 100 can only be stale.
  pg->Replace();
  populate(250);
  int stale = 0;
  const bool current = wait_for([&] {
    const auto posted = PostedThrough(server.Channel(), "test_vs_1");
    if (posted == 100) ++stale;
    return posted == 250 && Metric(server, "zeva_read_cache_listening") == 1;
  });
  CHECK(current);
  CHECK(stale == 0);
  // Memory answers again, with the new server's figures; the change was seen and counted.
  const double hits = Metric(server, "zeva_balance_cache_hits_total");
  CHECK(PostedThrough(server.Channel(), "test_vs_1") == 250);
  CHECK(PostedThrough(server.Channel(), "test_vs_1") == 250);
  CHECK(Metric(server, "zeva_balance_cache_hits_total") > hits);
  CHECK(Metric(server, "zeva_read_cache_server_changes_total") == 1);
  CHECK(server.Log().find("reached another server") != std::string::npos);
}

TEST_CASE(
    "a half-open LISTEN connection is found dead within --db-peer-timeout-ms and replaced; "
    "cached GetBalances never waits long meanwhile",
    "[fresh_reads]") {
  // Everything the server opens goes through a proxy that can leave its connections half-open
  // (a host that vanished): no FIN, no RST, no acknowledgement, so only the server's own
  // keepalives and tcp_user_timeout can tell.
  const std::string url = MigratedDatabase();
  const std::string host_port = "127.0.0.1:";
  const size_t at = url.find(host_port) + host_port.size();
  const size_t slash = url.find('/', at);
  TcpProxy proxy(std::stoi(url.substr(at, slash - at)));
  auto env = ServerEnv(url.substr(0, at) + std::to_string(proxy.port()) + url.substr(slash));
  constexpr int kPeerTimeoutMs = 2000;
  ServerProcess server(env, {"--db-peer-timeout-ms=" + std::to_string(kPeerTimeoutMs)});
  server.WaitUntilServing();
  auto channel = server.Channel();
  REQUIRE(WaitUntil([&] { return Metric(server, "zeva_read_cache_listening") == 1; }, 30s, 50ms));
  REQUIRE(PostedThrough(channel, "test_vs_1").has_value());
  const auto expected = PostedThrough(channel, "test_vs_1");  // a hit: cached and listening
  REQUIRE(expected.has_value());
  REQUIRE(Metric(server, "zeva_balance_cache_hits_total") >= 1);
  const auto count = [&](const std::string& what) {
    const std::string log = server.Log();
    size_t n = 0;
    for (size_t pos = log.find(what); pos != std::string::npos; pos = log.find(what, pos + 1)) ++n;
    return n;
  };
  const size_t listens_before = count("listening on ");
  REQUIRE(count("lost the LISTEN connection") == 0);

  // Every connection open now (the pool's, the LISTEN one, readiness' probe) goes silent.
  const auto froze = std::chrono::steady_clock::now();
  CHECK(proxy.FreezeOpenConnections() >= 2);
  // A caller keeps reading its cached balances meanwhile, each call bounded by 30 s.
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::atomic<int> failed{0};
  std::atomic<double> slowest{0};
  std::thread caller([&] {
    while (!stop) {
      const auto started = std::chrono::steady_clock::now();
      const auto read = PostedThrough(channel, "test_vs_1");
      const double took =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (took > slowest) slowest = took;
      ++calls;
      if (read != expected) ++failed;
    }
  });
  const auto seconds_since_freeze = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - froze).count();
  };
  // Keepalives find an idle half-open connection after about idle + 3 probes (1 + 3 x 1 s
  // with a 2 s peer timeout), tcp_user_timeout a query sent into the void after 2 s (checked
  // at the next retransmission): the bound leaves room for a loaded machine.
  const double bound = 3.0 * kPeerTimeoutMs / 1000.0 + 2.0;
  const bool lost = WaitUntil([&] { return count("lost the LISTEN connection") > 0; }, 30s, 20ms);
  const double lost_after = seconds_since_freeze();
  const bool relistened =
      WaitUntil([&] { return count("listening on ") > listens_before; }, 30s, 20ms);
  const double relistened_after = seconds_since_freeze();
  // Answering from memory again: the hits grow.
  const double hits = Metric(server, "zeva_balance_cache_hits_total");
  CHECK(WaitUntil([&] { return Metric(server, "zeva_balance_cache_hits_total") > hits; }, 10s));
  stop = true;
  caller.join();
  WARN("LISTEN connection found dead " << lost_after << " s after the freeze, listening again "
                                       << relistened_after << " s after it; " << calls
                                       << " GetBalances meanwhile, slowest " << slowest << " s");
  INFO(server.Log());
  CHECK(lost);
  CHECK(lost_after < bound);
  CHECK(relistened);
  CHECK(relistened_after < bound + 2.0);  // reconnect_delay (1 s) and a connection
  CHECK(Metric(server, "zeva_read_cache_listening") == 1);
  CHECK(failed == 0);
  // No call waits out its fallback for long: at most the CatchUp wait (1 s), then a pooled
  // connection found dead by tcp_user_timeout and the one retry on a fresh one.
  CHECK(slowest < bound);
  CHECK(proxy.accepted() > 3);  // the reconnects went through the proxy again
}

TEST_CASE(
    "a LISTEN connection left on the old primary while the pool reaches a new one drops the "
    "cache and follows",
    "[fresh_reads]") {
  // Two clusters (two system identifiers), both still running: the server's URL goes through a
  // proxy that first leads to `old_primary`, then (Retarget) to `new_primary`, as a failover
  // that moves the address and leaves the old primary reachable to whoever is connected to it.
  auto old_primary = PostgresServer::Own();
  auto new_primary = PostgresServer::Own();
  MigrateWithPosted(old_primary->admin_url(), 100);
  MigrateWithPosted(new_primary->admin_url(), 250);
  const auto port_of = [](const std::string& url) {
    const size_t at = url.rfind(':') + 1;
    return std::stoi(url.substr(at, url.find('/', at) - at));
  };
  const std::string old_url = old_primary->admin_url();
  TcpProxy proxy(port_of(old_url));
  const std::string proxied = old_url.substr(0, old_url.rfind(':') + 1) +
                              std::to_string(proxy.port()) + old_url.substr(old_url.rfind('/'));
  ServerProcess server(ServerEnv(proxied), {});
  server.WaitUntilServing();
  REQUIRE(WaitUntil([&] { return Metric(server, "zeva_read_cache_listening") == 1; }, 30s, 50ms));
  REQUIRE(PostedThrough(server.Channel(), "test_vs_1") == 100);
  REQUIRE(PostedThrough(server.Channel(), "test_vs_1") == 100);  // from memory
  REQUIRE(Metric(server, "zeva_balance_cache_hits_total") >= 1);

  // The address moves; the old primary ends the pool's sessions (not the LISTEN one), so the
  // pool's next connection reaches the new primary. A read the cache does not hold needs it.
  proxy.Retarget(port_of(new_primary->admin_url()));
  Sql(old_url,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'zeva-transaction-service'");
  auto stub = zeva::transactions::ZEVModels::NewStub(server.Channel());
  REQUIRE(WaitUntil(
      [&] {
        auto context = ContextFor("test_vs_1");
        zeva::transactions::ModelDetailsRequest request;
        request.set_id(1);
        zeva::transactions::ModelDetails details;
        const auto code = stub->GetModelDetails(context.get(), request, &details).error_code();
        return code == grpc::StatusCode::OK || code == grpc::StatusCode::NOT_FOUND;
      },
      30s, 50ms));
  // From here on the new primary's 250, never the old one's 100 from memory.
  int stale = 0;
  const bool current = WaitUntil(
      [&] {
        const auto posted = PostedThrough(server.Channel(), "test_vs_1");
        if (posted == 100) ++stale;
        return posted == 250 && Metric(server, "zeva_read_cache_listening") == 1;
      },
      30s, 50ms);
  INFO(server.Log());
  CHECK(stale == 0);
  CHECK(current);
  // The feed followed: it listens on the new primary and answers from memory again.
  CHECK(Metric(server, "zeva_read_cache_server_changes_total") == 1);
  const double hits = Metric(server, "zeva_balance_cache_hits_total");
  CHECK(PostedThrough(server.Channel(), "test_vs_1") == 250);
  CHECK(PostedThrough(server.Channel(), "test_vs_1") == 250);
  CHECK(Metric(server, "zeva_balance_cache_hits_total") > hits);
  CHECK(server.Log().find("a pooled connection reached server") != std::string::npos);
}
