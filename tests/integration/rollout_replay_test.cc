// A rolling update replayed without Kubernetes: three replicas of the real server behind one
// client channel that resolves all three and balances round robin (as Envoy's STRICT_DNS
// cluster does), a steady load of unary calls and open streams, and the replicas restarted
// one by one as the Deployment does it: preStop delay, SIGTERM, drain, exit, a new replica
// on the same address. The client applies what deploy/envoy/envoy.yaml declares: the
// /grpc/ routes' retry policy (same codes, num_retries + 1 attempts, same backoff) and the
// cluster's gRPC health check. Not one call may fail.
//
// The client never forgets a replica (as if DNS never caught up within preStop), so a short
// preStop serves: during it the replica just keeps serving. Envoy health-checks every 5 s,
// the client here watches health continuously, so a second replay shows the window between
// two of Envoy's checks: a replica that drains while the client still sends to it. There,
// the retry policy alone keeps every call whole, and without it calls fail.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "organizations.grpc.pb.h"
#include "tests/support/deploy_manifests.h"
#include "tests/support/edge_policy.h"
#include "tests/support/process.h"
#include "tests/support/service_fixture.h"
#include "transactions.grpc.pb.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int kReplicas = 3;
constexpr auto kReplayPreStop = milliseconds(1000);
constexpr int kStreamRows = 2000;  // read slowly: a stream stays open about half a second
// The slow stream that keeps a replica draining: more rows than HTTP/2 flow control lets the
// server write ahead, so its handler runs until the client has read them.
constexpr int kDrainRows = 100000;

// One token per user for the whole replay: signing is not what is being measured.
const std::string& Token(const std::string& user) {
  static std::mutex mutex;
  static std::map<std::string, std::string> tokens;
  std::lock_guard<std::mutex> lock(mutex);
  auto& token = tokens[user];
  if (token.empty()) token = "Bearer " + SignToken(ValidClaims(user), TestKey(0).private_pem, "");
  return token;
}

void Prepare(grpc::ClientContext* context, const std::string& user = "test_vs_1") {
  context->AddMetadata("authorization", Token(user));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
}

// Three replicas on fixed addresses, restarted in place; counts the calls the draining ones
// refused (each logs `status=UNAVAILABLE`).
class Replicas {
 public:
  explicit Replicas(std::string database_url) : database_url_(std::move(database_url)) {
    grace_ =
        Object("ConfigMap", "zeva-transaction-service-config")["data"]["SHUTDOWN_GRACE_SECONDS"]
            .as<std::string>();
    for (int i = 0; i < kReplicas; ++i) {
      ports_.push_back(FreePort());
      servers_.emplace_back();
      Start(i);
    }
  }
  // "ipv4:127.0.0.1:P1,127.0.0.1:P2,...": the client resolves every replica.
  std::string Target() const {
    std::string target = "ipv4:";
    for (size_t i = 0; i < ports_.size(); ++i) {
      target += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(ports_[i]);
    }
    return target;
  }
  ServerProcess& server(int i) { return *servers_[i]; }
  void Start(int i) {
    auto env = ServerEnv(database_url_);
    env["PORT"] = std::to_string(ports_[i]);
    env["SHUTDOWN_GRACE_SECONDS"] = grace_;
    servers_[i] = std::make_unique<ServerProcess>(env);
    servers_[i]->WaitUntilServing();
  }
  // Sends `signal` (0: none) and waits for the exit; returns the exit code.
  int Stop(int i, int signal) {
    const int code = servers_[i]->StopWith(signal, std::chrono::seconds(30));
    const std::string log = servers_[i]->Log();
    for (size_t at = log.find("status=UNAVAILABLE"); at != std::string::npos;
         at = log.find("status=UNAVAILABLE", at + 1)) {
      ++refused_;
    }
    if (code != 0) FAIL("replica " << i << " exited with " << code << ":\n" << log);
    return code;
  }
  int refused() const { return refused_; }

 private:
  std::string database_url_;
  std::string grace_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  int refused_ = 0;
};

std::shared_ptr<grpc::Channel> EdgeChannel(const Replicas& replicas, bool retries,
                                           bool health_check) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(EdgeServiceConfig(EnvoyConfig(), retries, health_check));
  // A restarted replica is found again quickly, as Envoy's next DNS refresh would.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  return grpc::CreateCustomChannel(replicas.Target(), grpc::InsecureChannelCredentials(), args);
}

int CountTransactions(const std::shared_ptr<grpc::Channel>& channel, int pause_every = 0,
                      grpc::Status* status = nullptr) {
  auto stub = zeva::transactions::TransactionList::NewStub(channel);
  grpc::ClientContext context;
  Prepare(&context);
  auto reader = stub->GetTransactions(&context, {});
  zeva::transactions::TransactionSummary row;
  int rows = 0;
  while (reader->Read(&row)) {
    // A slow reader on purpose (when asked): the stream outlives a drain.
    if (pause_every > 0 && ++rows % pause_every == 0) std::this_thread::sleep_for(milliseconds(25));
    if (pause_every == 0) ++rows;
  }
  const grpc::Status finished = reader->Finish();
  if (status) *status = finished;
  return rows;
}

// Unary calls (GetModelDetails, GetMyOrganization in turn) and whole streams
// (GetTransactions, read slowly) on threads of their own until Stop().
class Load {
 public:
  Load(std::shared_ptr<grpc::Channel> channel, uint64_t model_id, int expected_rows,
       int unary_threads, int stream_threads)
      : channel_(std::move(channel)), model_id_(model_id), expected_rows_(expected_rows) {
    for (int t = 0; t < unary_threads; ++t) threads_.emplace_back([this, t] { Unary(t); });
    for (int t = 0; t < stream_threads; ++t) threads_.emplace_back([this] { Streams(); });
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int unary() const { return unary_; }
  int streams() const { return streams_; }
  int failed() {
    std::lock_guard<std::mutex> lock(mutex_);
    int total = 0;
    for (const auto& [what, count] : failures_) total += count;
    return total;
  }
  std::string Failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ostringstream out;
    for (const auto& [what, count] : failures_) out << "\n  " << count << "x " << what;
    return out.str();
  }

 private:
  void Fail(const std::string& method, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++failures_[method + ": code " + std::to_string(status.error_code()) + " " +
                status.error_message()];
  }
  void Unary(int t) {
    auto models = zeva::transactions::ZEVModels::NewStub(channel_);
    auto organizations = zeva::organizations::OrganizationDetails::NewStub(channel_);
    for (int i = t; !stop_; ++i) {
      grpc::ClientContext context;
      Prepare(&context);
      if (i % 2 == 0) {
        zeva::transactions::ModelDetailsRequest request;
        request.set_id(model_id_);
        zeva::transactions::ModelDetails details;
        const grpc::Status status = models->GetModelDetails(&context, request, &details);
        if (!status.ok()) Fail("GetModelDetails", status);
      } else {
        zeva::organizations::MyOrganizationResponse organization;
        const grpc::Status status = organizations->GetMyOrganization(&context, {}, &organization);
        if (!status.ok()) Fail("GetMyOrganization", status);
      }
      ++unary_;
      std::this_thread::sleep_for(milliseconds(10));  // paces the load
    }
  }
  void Streams() {
    while (!stop_) {
      grpc::Status status;
      const int rows = CountTransactions(channel_, 100, &status);
      if (!status.ok()) {
        Fail("GetTransactions", status);
      } else if (rows != expected_rows_) {
        Fail("GetTransactions",
             grpc::Status(grpc::StatusCode::DATA_LOSS, "only " + std::to_string(rows) + " rows"));
      }
      ++streams_;
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  uint64_t model_id_;
  int expected_rows_;
  std::atomic<bool> stop_{false};
  std::atomic<int> unary_{0};
  std::atomic<int> streams_{0};
  std::mutex mutex_;
  std::map<std::string, int> failures_;
  std::vector<std::thread> threads_;
};

struct Setup {
  std::string url;
  uint64_t model_id = 0;
  int rows = 0;
};

const Setup& Database() {
  static const Setup setup = [] {
    Setup s;
    s.url = MigratedDatabase();
    AddTransactions(s.url, kStreamRows, "Test Vehicle Supplier 1");
    AddTransactions(s.url, kDrainRows, "Test Vehicle Supplier 2");
    s.model_id =
        std::stoull(Sql(s.url,
                        "SELECT min(v.id) FROM vehicles v JOIN organizations o ON "
                        "o.id = v.organization_id WHERE o.name = 'Test Vehicle Supplier 1'"));
    return s;
  }();
  return setup;
}

struct Outcome {
  int unary = 0;
  int streams = 0;
  int failed = 0;
  int refused = 0;
  double seconds = 0;
  std::string failures;
};

std::ostream& operator<<(std::ostream& out, const Outcome& o) {
  return out << o.unary << " unary calls and " << o.streams << " streams in " << o.seconds
             << " s: " << o.failed << " failed; " << o.refused
             << " attempts refused by draining replicas" << o.failures;
}

// The rolling update: every replica in turn gets preStop, SIGTERM, and a successor.
Outcome RollingUpdate() {
  const auto started = Steady::now();
  Replicas replicas(Database().url);
  auto channel = EdgeChannel(replicas, true, true);
  const int rows = CountTransactions(channel);
  Load load(channel, Database().model_id, rows, 4, 2);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // steady state first
  for (int i = 0; i < kReplicas; ++i) {
    std::this_thread::sleep_for(kReplayPreStop);  // preStop: the replica still serves
    replicas.Stop(i, SIGTERM);
    replicas.Start(i);  // ready before the next one goes (maxUnavailable: 0)
    std::this_thread::sleep_for(milliseconds(500));  // paces the rollout, as minReadySeconds
  }
  load.Stop();
  return {load.unary(),
          load.streams(),
          load.failed(),
          replicas.refused(),
          std::chrono::duration<double>(Steady::now() - started).count(),
          load.Failures()};
}

// One replica drains (a slow stream keeps it draining ~1.5 s) while a client that does not
// health-check keeps sending to it, one call after another.
Outcome DrainBetweenHealthChecks(bool retries) {
  const auto started = Steady::now();
  Replicas replicas(Database().url);
  auto channel = EdgeChannel(replicas, retries, false);
  const int rows = CountTransactions(channel);
  grpc::Status slow_status;
  std::thread slow([&] {
    auto direct = zeva::transactions::TransactionList::NewStub(replicas.server(0).Channel());
    grpc::ClientContext context;
    Prepare(&context, "test_vs_2");
    auto reader = direct->GetTransactions(&context, {});
    zeva::transactions::TransactionSummary row;
    if (reader->Read(&row)) std::this_thread::sleep_for(milliseconds(1500));
    while (reader->Read(&row)) {
    }
    slow_status = reader->Finish();
  });
  Load load(channel, Database().model_id, rows, 1, 0);
  std::this_thread::sleep_for(milliseconds(300));  // the load runs before the drain begins
  kill(replicas.server(0).pid(), SIGTERM);
  slow.join();
  replicas.Stop(0, 0);
  load.Stop();
  CHECK(slow_status.ok());  // the call in flight was drained, not cut
  return {load.unary(),
          load.streams(),
          load.failed(),
          replicas.refused(),
          std::chrono::duration<double>(Steady::now() - started).count(),
          load.Failures()};
}

}  // namespace

TEST_CASE("the client carries Envoy's retry policy for the reads, none for the writes",
          "[deploy][rollout]") {
  const auto config = nlohmann::json::parse(EdgeServiceConfig(EnvoyConfig(), true, true));
  const auto envoy = EnvoyConfig();
  std::set<std::string> retried;
  for (const auto& method : config["methodConfig"]) {
    const std::string name = method["name"][0]["method"];
    if (!method.contains("retryPolicy")) continue;
    retried.insert(name);
    const auto& policy = method["retryPolicy"];
    const EdgeRetry route = EnvoyRetryFor(envoy, method["name"][0]["service"], name);
    CHECK(policy["maxAttempts"].get<int>() == route.num_retries + 1);
    CHECK(policy["retryableStatusCodes"].dump() == R"(["CANCELLED","UNAVAILABLE"])");
  }
  CHECK(retried == std::set<std::string>{"GetTransactions", "GetMyOrganization", "ListModels",
                                         "GetModelDetails"});
  CHECK(config["healthCheckConfig"]["serviceName"] == "zeva.transactions.TransactionList");
}

TEST_CASE("a rolling update replayed on three real replicas fails no call", "[deploy][rollout]") {
  const Outcome update = RollingUpdate();
  WARN("rolling update, with Envoy's retry policy and health check: " << update);
  CHECK(update.failed == 0);
  CHECK(update.unary >= 200);
  CHECK(update.streams >= 10);
}

TEST_CASE(
    "between Envoy's health checks, the retry policy alone keeps calls to a draining "
    "replica whole",
    "[deploy][rollout]") {
  const Outcome with_retries = DrainBetweenHealthChecks(true);
  WARN("draining replica, with the retry policy: " << with_retries);
  CHECK(with_retries.failed == 0);
  CHECK(with_retries.refused >= 5);  // the policy was needed
  const Outcome without = DrainBetweenHealthChecks(false);
  WARN("draining replica, without the retry policy: " << without);
  CHECK(without.failed >= 5);  // so removing it from envoy.yaml fails this test
}
