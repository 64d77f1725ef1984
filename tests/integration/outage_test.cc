// Database outages through real processes: PostgreSQL stopped under load and started again,
// and a server started while PostgreSQL is down. These stop the shared PostgreSQL server of
// the test binary, so they run as their own CTest group ([outage]) with a server of their own.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/support/metrics_scrape.h"
#include "tests/support/postgres_server.h"
#include "tests/support/service_fixture.h"
#include "tests/support/wait_until.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;
using zeva::transactions::ZEVModels;
using Steady = std::chrono::steady_clock;

namespace {

const char kContractService[] = "zeva.transactions.TransactionList";

// Stops the shared PostgreSQL for the scope; whatever happens, it runs again afterwards.
class Outage {
 public:
  Outage() { PostgresServer::Shared().Stop(); }
  ~Outage() { End(); }
  // Starts PostgreSQL again (at most once) and returns when it accepts connections.
  void End() {
    if (ended_) return;
    ended_ = true;
    PostgresServer::Shared().Start();
  }

 private:
  bool ended_ = false;
};

struct Outcome {
  Steady::time_point started;
  Steady::time_point ended;
  grpc::StatusCode code;
  std::string message;
};

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

grpc::Status GetModel(ServiceFixture& service, uint64_t id, std::chrono::milliseconds deadline) {
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor("test_vs_1");
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  zeva::transactions::ModelDetailsRequest request;
  request.set_id(id);
  zeva::transactions::ModelDetails details;
  return stub->GetModelDetails(context.get(), request, &details);
}

std::string PoolBackends(const std::string& url) {
  return Sql(url,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
             "'zeva-transaction-service' AND datname = current_database()");
}

}  // namespace

TEST_CASE("PostgreSQL restarted under load: UNAVAILABLE during the outage, back within 5 s",
          "[outage]") {
  ServiceFixture service({"--db-pool-size=4"});
  const uint64_t id = std::stoull(Sql(service.database_url(), "SELECT min(id) FROM vehicles"));
  constexpr auto kDeadline = std::chrono::milliseconds(3000);

  std::mutex mutex;
  std::vector<Outcome> outcomes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int i = 0; i < 6; ++i) {
    load.emplace_back([&] {
      while (!stop) {
        const auto started = Steady::now();
        const grpc::Status status = GetModel(service, id, kDeadline);
        const auto ended = Steady::now();
        std::lock_guard<std::mutex> lock(mutex);
        outcomes.push_back({started, ended, status.error_code(), status.error_message()});
      }
    });
  }
  // How many calls so far answered `code` and started at or after `from`.
  const auto answered = [&](grpc::StatusCode code, Steady::time_point from) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::count_if(outcomes.begin(), outcomes.end(),
                         [&](const Outcome& o) { return o.code == code && o.started >= from; });
  };
  REQUIRE(
      WaitUntil([&] { return answered(grpc::StatusCode::OK, {}) > 0; }, std::chrono::seconds(20)));
  Steady::time_point stopped;
  Steady::time_point restarted;
  std::string health_during_outage;
  {
    stopped = Steady::now();  // PostgreSQL starts refusing from here on
    Outage outage;
    // The outage is seen: calls end UNAVAILABLE, and readiness drops.
    CHECK(WaitUntil([&] { return answered(grpc::StatusCode::UNAVAILABLE, stopped) > 0; },
                    std::chrono::seconds(30)));
    WaitUntil(
        [&] {
          return (health_during_outage = service.server().Health(kContractService)) ==
                 "NOT_SERVING";
        },
        std::chrono::seconds(30));
    outage.End();
    restarted = Steady::now();
  }
  // The claim is about calls started more than 5 s after the restart: wait until a dozen of
  // them (two per caller) have ended.
  CHECK(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return std::count_if(outcomes.begin(), outcomes.end(), [&](const Outcome& o) {
                 return o.started > restarted + std::chrono::seconds(5);
               }) >= 12;
      },
      std::chrono::seconds(60)));
  stop = true;
  for (auto& t : load) t.join();

  std::map<grpc::StatusCode, int> codes;
  int ok_before = 0;
  int failed_before = 0;
  int unavailable_in_outage = 0;
  int failed_late = 0;
  std::optional<Steady::time_point> first_ok_after_restart;
  double slowest = 0;
  for (const Outcome& o : outcomes) {
    ++codes[o.code];
    slowest = std::max(slowest, Seconds(o.ended - o.started));
    if (o.ended < stopped) (o.code == grpc::StatusCode::OK ? ok_before : failed_before)++;
    if (o.code == grpc::StatusCode::UNAVAILABLE && o.started >= stopped && o.ended <= restarted) {
      ++unavailable_in_outage;
    }
    if (o.code == grpc::StatusCode::OK && o.started >= restarted &&
        (!first_ok_after_restart || o.ended < *first_ok_after_restart)) {
      first_ok_after_restart = o.ended;
    }
    if (o.started > restarted + std::chrono::seconds(5) && o.code != grpc::StatusCode::OK) {
      ++failed_late;
    }
    if (o.code != grpc::StatusCode::OK && o.code != grpc::StatusCode::UNAVAILABLE) {
      FAIL_CHECK("call ended " << o.code << ": " << o.message);
    }
  }
  std::string summary;
  for (const auto& [code, n] : codes)
    summary += " " + std::to_string(code) + ":" + std::to_string(n);
  INFO("codes (gRPC code:count):" << summary << "\n" << service.server().LogWithoutCalls());
  CHECK(ok_before > 0);
  CHECK(failed_before == 0);
  CHECK(unavailable_in_outage > 0);  // the outage was seen, as UNAVAILABLE
  CHECK(health_during_outage == "NOT_SERVING");
  REQUIRE(first_ok_after_restart.has_value());
  const double recovery = Seconds(*first_ok_after_restart - restarted);
  WARN("outage: " << outcomes.size() << " calls, codes" << summary << "; slowest call " << slowest
                  << " s; first OK " << recovery << " s after PostgreSQL accepted connections");
  CHECK(recovery < 5.0);
  CHECK(failed_late == 0);
  CHECK(slowest < Seconds(kDeadline) + 0.5);  // nothing hung past its deadline

  // No dead connection left in the pool: a burst that needs every connection succeeds, and
  // each connection the pool counts is a live backend in PostgreSQL.
  std::vector<std::thread> burst;
  std::atomic<int> burst_ok{0};
  for (int i = 0; i < 16; ++i) {
    burst.emplace_back([&] { burst_ok += GetModel(service, id, kDeadline).ok() ? 1 : 0; });
  }
  for (auto& t : burst) t.join();
  CHECK(burst_ok == 16);
  const std::string metrics = ScrapeMetrics(service.server().metrics_port());
  const double open = MetricValue(metrics, "zeva_db_pool_connections");
  CHECK(open >= 1);
  CHECK(open <= 4);
  CHECK(PoolBackends(service.database_url()) == std::to_string(static_cast<int>(open)));
  CHECK(MetricValue(metrics, "zeva_db_pool_in_use") == 0);
  CHECK(MetricValue(metrics, "zeva_db_pool_broken_total") >= 1);
  CHECK(service.server().Health(kContractService) == "SERVING");
}

TEST_CASE("a server started before PostgreSQL is NOT_SERVING, then SERVING once it is up",
          "[outage]") {
  const std::string url = MigratedDatabase();
  const uint64_t id = std::stoull(Sql(url, "SELECT min(id) FROM vehicles"));
  Outage outage;
  ServerProcess server(ServerEnv(url));
  // Alive at once ("" is liveness), not ready while the database is away.
  server.WaitUntilServing(std::chrono::seconds(20), "");
  // Its first readiness check has run (and found the database away).
  CHECK(WaitUntil([&] { return server.Log().find("not ready (") != std::string::npos; },
                  std::chrono::seconds(20)));
  INFO(server.Log());
  CHECK(server.Running());
  CHECK(server.Health("") == "SERVING");
  for (const char* service :
       {"zeva.transactions.TransactionList", "zeva.organizations.OrganizationDetails",
        "zeva.transactions.ZEVModels"}) {
    CHECK(server.Health(service) == "NOT_SERVING");
  }
  auto stub = ZEVModels::NewStub(server.Channel());
  auto call = [&] {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + SignToken(ValidClaims("test_vs_1"),
                                                               TestKey(0).private_pem, ""));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    zeva::transactions::ModelDetailsRequest request;
    request.set_id(id);
    zeva::transactions::ModelDetails details;
    return stub->GetModelDetails(&context, request, &details);
  };
  const grpc::Status down = call();
  INFO(down.error_message());
  CHECK(down.error_code() == grpc::StatusCode::UNAVAILABLE);

  outage.End();
  const auto up = Steady::now();
  server.WaitUntilServing(std::chrono::seconds(10));
  const double ready_after = Seconds(Steady::now() - up);
  WARN("SERVING " << ready_after << " s after PostgreSQL came up");
  CHECK(ready_after < 5.0);
  for (const char* service :
       {"zeva.organizations.OrganizationDetails", "zeva.transactions.ZEVModels"}) {
    CHECK(server.Health(service) == "SERVING");
  }
  const grpc::Status served = call();
  INFO(served.error_message());
  CHECK(served.ok());
}

TEST_CASE("a frozen database: NOT_SERVING within 5 s, and SIGTERM exits within grace + 5 s",
          "[outage]") {
  constexpr int kGraceSeconds = 3;
  ServiceFixture service({"--shutdown-grace-seconds=" + std::to_string(kGraceSeconds)});
  REQUIRE(GetModel(service, 1, std::chrono::seconds(5)).ok());  // connections open and warm
  // Thawed whatever happens, so that the rest of the group finds a working server.
  struct Frozen {
    Frozen() { PostgresServer::Shared().Freeze(); }
    ~Frozen() { PostgresServer::Shared().Thaw(); }
  } frozen;
  const auto froze = Steady::now();
  // A call stuck on a pooled connection: only the frozen server could end its statement.
  std::thread stuck([&] { GetModel(service, 1, std::chrono::seconds(60)); });
  std::string health;
  WaitUntil([&] { return (health = service.server().Health(kContractService)) != "SERVING"; },
            std::chrono::seconds(10), std::chrono::milliseconds(100));
  const double not_ready_after = Seconds(Steady::now() - froze);
  WARN("NOT_SERVING " << not_ready_after << " s after PostgreSQL froze");
  CHECK(health == "NOT_SERVING");
  CHECK(not_ready_after < 5.0);

  const auto signalled = Steady::now();
  const int exit_code = service.server().StopWith(SIGTERM, std::chrono::seconds(30));
  const double exited_after = Seconds(Steady::now() - signalled);
  WARN("exit code " << exit_code << " " << exited_after << " s after SIGTERM");
  INFO(service.server().LogWithoutCalls());
  CHECK(exit_code >= 0);  // exited by itself, not killed after the timeout
  CHECK(exited_after < kGraceSeconds + 5.0);
  stuck.join();
}
