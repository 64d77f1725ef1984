// Production behaviour through real processes: a small pool under many concurrent calls,
// graceful shutdown on SIGTERM, TLS, Prometheus metrics and the per-call log line.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/service_fixture.h"
#include "tests/support/wait_until.h"
#include "transactions.grpc.pb.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;
using zeva::transactions::TransactionList;
using zeva::transactions::ZEVModels;
using Steady = std::chrono::steady_clock;

namespace {

const char kContractService[] = "zeva.transactions.TransactionList";

uint64_t FirstModelId(const std::string& url) {
  return std::stoull(Sql(url,
                         "SELECT min(v.id) FROM vehicles v JOIN organizations o ON "
                         "o.id = v.organization_id WHERE o.name = 'Test Vehicle Supplier 1'"));
}

grpc::Status GetModel(ServiceFixture& service, uint64_t id, const std::string& user = "test_vs_1") {
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor(user);
  zeva::transactions::ModelDetailsRequest request;
  request.set_id(id);
  zeva::transactions::ModelDetails details;
  return stub->GetModelDetails(context.get(), request, &details);
}

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("200 concurrent calls through a pool of 4 connections all succeed", "[production]") {
  ServiceFixture service({"--db-pool-size=4"});
  const uint64_t id = FirstModelId(service.database_url());
  REQUIRE(GetModel(service, id).ok());  // warm: the user is cached, so every call below
                                        // needs the pool exactly once for its model

  constexpr int kCalls = 200;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<double> seconds(kCalls);
  std::atomic<bool> go{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      const auto started = Steady::now();
      statuses[i] = GetModel(service, id);
      seconds[i] = Seconds(Steady::now() - started);
    });
  }
  const auto started = Steady::now();
  go = true;
  for (auto& t : callers) t.join();
  const double total = Seconds(Steady::now() - started);

  int ok = 0;
  double slowest = 0;
  for (int i = 0; i < kCalls; ++i) {
    INFO("call " << i << ": " << statuses[i].error_code() << " " << statuses[i].error_message());
    CHECK(statuses[i].ok());
    ok += statuses[i].ok() ? 1 : 0;
    slowest = std::max(slowest, seconds[i]);
  }
  WARN(kCalls << " concurrent GetModelDetails through 4 connections: " << ok << " OK in " << total
              << " s, slowest call " << slowest << " s");
  CHECK(ok == kCalls);
  CHECK(slowest < 10.0);  // nobody waited anywhere near the 30 s deadline
  const std::string metrics = ScrapeMetrics(service.server().metrics_port());
  CHECK(MetricValue(metrics, "zeva_db_pool_connections") <= 4);
  CHECK(MetricValue(metrics, "zeva_db_pool_in_use") == 0);
  CHECK(MetricValue(metrics, "zeva_db_pool_waiting") == 0);
  CHECK(Sql(service.database_url(),
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
            "'zeva-transaction-service' AND datname = current_database()") ==
        std::to_string(static_cast<int>(MetricValue(metrics, "zeva_db_pool_connections"))));
}

TEST_CASE("SIGTERM turns health NOT_SERVING at once", "[production]") {
  ServiceFixture service;
  auto health = grpc::health::v1::Health::NewStub(service.channel());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(kContractService);
  auto watch = health->Watch(&watch_context, request);
  grpc::health::v1::HealthCheckResponse response;
  REQUIRE(watch->Read(&response));
  REQUIRE(response.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  const auto signalled = Steady::now();
  kill(service.server().pid(), SIGTERM);
  REQUIRE(watch->Read(&response));
  const double after = Seconds(Steady::now() - signalled);
  CHECK(response.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  WARN("health NOT_SERVING " << after * 1000 << " ms after SIGTERM");
  CHECK(after < 0.5);
  // A fresh Check never reads SERVING again: the answer is NOT_SERVING or no answer at all.
  const std::string later = service.server().Health(kContractService);
  CHECK(later != "SERVING");
  watch_context.TryCancel();
  watch->Finish();
  CHECK(service.server().StopWith(0, std::chrono::seconds(30)) == 0);  // 0: just wait
}

TEST_CASE("SIGTERM during a long stream: the stream completes, new calls are refused, exit 0",
          "[production]") {
  ServiceFixture service({"--shutdown-grace-seconds=20"});
  constexpr int kRows = 100000;
  AddTransactions(service.database_url(), kRows, "Test Vehicle Supplier 1");
  auto stub = TransactionList::NewStub(service.channel());
  auto context = service.ContextFor("test_vs_1");
  auto reader = stub->GetTransactions(context.get(), {});
  zeva::transactions::TransactionSummary row;
  int count = 0;
  while (count < 1000 && reader->Read(&row)) ++count;
  REQUIRE(count == 1000);

  const auto signalled = Steady::now();
  kill(service.server().pid(), SIGTERM);
  // Once the server drains (readiness drops), a new call on a new channel is refused.
  CHECK(WaitUntil([&] { return service.server().Health(kContractService) == "NOT_SERVING"; },
                  std::chrono::seconds(10), std::chrono::milliseconds(20)));
  {
    auto fresh = ZEVModels::NewStub(service.server().Channel());
    auto fresh_context = service.ContextFor("test_vs_1");
    fresh_context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    zeva::transactions::ModelDetailsRequest request;
    request.set_id(FirstModelId(service.database_url()));
    zeva::transactions::ModelDetails details;
    const grpc::Status refused = fresh->GetModelDetails(fresh_context.get(), request, &details);
    INFO(refused.error_message());
    CHECK(refused.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(service.server().Health(kContractService) == "NOT_SERVING");
  }
  // The slow reader, on purpose: ~2 ms per 100 rows, so the stream outlives the signal by seconds.
  while (reader->Read(&row)) {
    if (++count % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const grpc::Status finished = reader->Finish();
  const double stream_seconds = Seconds(Steady::now() - signalled);
  INFO(finished.error_message() << "\n" << service.server().Log());
  CHECK(finished.ok());
  CHECK(count == kRows + 3);
  const int exit_code = service.server().StopWith(0, std::chrono::seconds(25));
  const double exit_seconds = Seconds(Steady::now() - signalled);
  WARN("stream finished " << stream_seconds << " s after SIGTERM; process exited after "
                          << exit_seconds << " s with " << exit_code);
  CHECK(stream_seconds > 1.0);  // it really was in flight for a while
  CHECK(exit_code == 0);
  CHECK(exit_seconds < 20.0);
}

TEST_CASE("TLS: a client with the test CA connects, a plaintext client is refused",
          "[production]") {
  TempDir dir;
  const std::string d = dir.path();
  {
    std::ofstream ext(d + "/ext.cnf");
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
           "basicConstraints=CA:FALSE\n"
           "keyUsage=digitalSignature,keyEncipherment\n"
           "extendedKeyUsage=serverAuth\n";
  }
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key",
            "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=zeva test CA"},
           {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key", "-out",
            d + "/server.csr", "-subj", "/CN=localhost"},
           {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey",
            d + "/ca.key", "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile",
            d + "/ext.cnf"}}) {
    const CommandResult made = RunCommand(argv);
    INFO(made.output);
    REQUIRE(made.exit_code == 0);
  }
  std::ifstream ca_file(d + "/ca.pem");
  std::stringstream ca;
  ca << ca_file.rdbuf();

  const std::string url = MigratedDatabase();
  ServerProcess server(ServerEnv(url), {"--tls-cert-file=" + d + "/server.pem",
                                        "--tls-key-file=" + d + "/server.key"});
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca.str();
  auto tls = grpc::CreateChannel(server.address(), grpc::SslCredentials(options));

  // Ready over TLS (ServerProcess::WaitUntilServing speaks plaintext).
  auto health = grpc::health::v1::Health::NewStub(tls);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(kContractService);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status checked;
  const auto deadline = Steady::now() + std::chrono::seconds(20);
  while (Steady::now() < deadline) {
    REQUIRE(server.Running());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    checked = health->Check(&context, request, &response);
    if (checked.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(checked.error_message() << "\n" << server.Log());
  REQUIRE(checked.ok());
  REQUIRE(response.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  // A real call with a token over TLS.
  auto models = ZEVModels::NewStub(tls);
  grpc::ClientContext call;
  call.AddMetadata("authorization",
                   "Bearer " + SignToken(ValidClaims("test_vs_1"), TestKey(0).private_pem, ""));
  call.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  zeva::transactions::ModelDetailsRequest details_request;
  details_request.set_id(FirstModelId(url));
  zeva::transactions::ModelDetails details;
  const grpc::Status secure = models->GetModelDetails(&call, details_request, &details);
  INFO(secure.error_message());
  CHECK(secure.ok());
  CHECK(details.make() == "Optimus Prime");

  // Plaintext on the TLS port: no answer.
  CHECK(server.Health(kContractService) == "UNREACHABLE");
  // TLS without trusting the test CA: refused too.
  auto untrusted = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(server.address(), grpc::SslCredentials(grpc::SslCredentialsOptions())));
  grpc::ClientContext untrusted_context;
  untrusted_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  CHECK(!untrusted->Check(&untrusted_context, request, &response).ok());
  CHECK(server.StopWith(SIGTERM) == 0);
}

TEST_CASE("the metrics endpoint shows calls, pool gauges and build info", "[production]") {
  ServiceFixture service;
  const int port = service.server().metrics_port();
  const uint64_t id = FirstModelId(service.database_url());
  const std::vector<std::string> ok_labels{"method=\"GetModelDetails\"", "code=\"OK\""};
  const std::vector<std::string> missing_labels{"method=\"GetModelDetails\"", "code=\"NOT_FOUND\""};
  const std::string before = ScrapeMetrics(port);
  const double ok_before = std::max(0.0, MetricValue(before, "zeva_grpc_calls_total", ok_labels));
  const double missing_before =
      std::max(0.0, MetricValue(before, "zeva_grpc_calls_total", missing_labels));

  for (int i = 0; i < 3; ++i) REQUIRE(GetModel(service, id).ok());
  CHECK(GetModel(service, 999999).error_code() == grpc::StatusCode::NOT_FOUND);

  const std::string after = ScrapeMetrics(port);
  INFO(after);
  CHECK(MetricValue(after, "zeva_grpc_calls_total", ok_labels) == ok_before + 3);
  CHECK(MetricValue(after, "zeva_grpc_calls_total", missing_labels) == missing_before + 1);
  CHECK(MetricValue(after, "zeva_grpc_call_duration_seconds_count",
                    {"method=\"GetModelDetails\""}) >= 4);
  CHECK(MetricValue(after, "zeva_db_pool_connections") >= 1);
  CHECK(MetricValue(after, "zeva_db_pool_in_use") == 0);
  CHECK(MetricValue(after, "zeva_db_pool_waiting") == 0);
  CHECK(MetricValue(after, "zeva_db_pool_broken_total") == 0);
  CHECK(MetricValue(after, "zeva_jwks_refreshes_total") >= 0);
  CHECK(MetricValue(after, "zeva_jwks_failures_total") >= 0);
  CHECK(MetricValue(after, "zeva_build_info", {"version=\""}) == 1);
}

TEST_CASE("one log line per call with method, status, caller and request id, never the token",
          "[production]") {
  ServiceFixture service;
  const uint64_t id = FirstModelId(service.database_url());
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor("test_vs_1");
  context->AddMetadata("x-request-id", "req-7f3a-prod-test");
  zeva::transactions::ModelDetailsRequest request;
  request.set_id(id);
  zeva::transactions::ModelDetails details;
  REQUIRE(stub->GetModelDetails(context.get(), request, &details).ok());
  const auto& initial = context->GetServerInitialMetadata();
  const auto echoed = initial.find("x-request-id");
  REQUIRE(echoed != initial.end());
  CHECK(std::string(echoed->second.data(), echoed->second.size()) == "req-7f3a-prod-test");
  const std::string token = SignToken(ValidClaims("test_vs_1"), TestKey(0).private_pem, "");
  CHECK(GetModel(service, 999999).error_code() == grpc::StatusCode::NOT_FOUND);

  // Both calls are logged (a line each, written as the call ends).
  CHECK(WaitUntil(
      [&] {
        const std::string log = service.server().Log();
        const size_t first = log.find("call GetModelDetails");
        return first != std::string::npos &&
               log.find("call GetModelDetails", first + 1) != std::string::npos;
      },
      std::chrono::seconds(10)));
  const std::string log = service.server().Log();
  INFO(log);
  std::vector<std::string> calls;
  for (const auto& line : Lines(log)) {
    if (line.find("call GetModelDetails") != std::string::npos) calls.push_back(line);
  }
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].find("info") != std::string::npos);
  CHECK(calls[0].find("status=OK") != std::string::npos);
  CHECK(calls[0].find("caller=test_vs_1") != std::string::npos);
  CHECK(calls[0].find("request_id=req-7f3a-prod-test") != std::string::npos);
  CHECK(calls[0].find("duration_us=") != std::string::npos);
  CHECK(calls[1].find("status=NOT_FOUND") != std::string::npos);
  CHECK(calls[1].find("request_id=-") != std::string::npos);
  // Neither the whole token nor its signature part shows anywhere.
  CHECK(log.find(token) == std::string::npos);
  CHECK(log.find(token.substr(token.rfind('.') + 1)) == std::string::npos);
  CHECK(log.find("Bearer") == std::string::npos);
}

TEST_CASE("LOG_FORMAT=json: every line is a JSON object, calls included", "[production]") {
  const std::string url = MigratedDatabase();
  auto env = ServerEnv(url);
  env["LOG_FORMAT"] = "json";
  ServerProcess server(env);
  server.WaitUntilServing();
  auto stub = ZEVModels::NewStub(server.Channel());
  grpc::ClientContext context;
  context.AddMetadata("authorization",
                      "Bearer " + SignToken(ValidClaims("test_vs_1"), TestKey(0).private_pem, ""));
  context.AddMetadata("x-request-id", "json-\"quoted\"-id");
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  zeva::transactions::ModelDetailsRequest request;
  request.set_id(FirstModelId(url));
  zeva::transactions::ModelDetails details;
  REQUIRE(stub->GetModelDetails(&context, request, &details).ok());
  {  // A gzip-compressed request, refused: gRPC's own core logs it, through our logger.
    grpc::ClientContext compressed;
    compressed.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    CHECK_FALSE(stub->GetModelDetails(&compressed, request, &details).ok());
  }
  REQUIRE(server.StopWith(SIGTERM) == 0);

  const std::string log = server.Log();
  INFO(log);
  int call_lines = 0;
  int grpc_lines = 0;
  for (const auto& line : Lines(log)) {
    INFO(line);
    nlohmann::json parsed;
    REQUIRE_NOTHROW(parsed = nlohmann::json::parse(line));
    REQUIRE(parsed.is_object());
    CHECK(parsed.contains("time"));
    CHECK(parsed.contains("level"));
    const std::string msg = parsed.value("msg", "");
    if (msg.rfind("grpc: ", 0) == 0) ++grpc_lines;
    if (msg.rfind("call GetModelDetails status=OK", 0) == 0) {
      ++call_lines;
      CHECK(parsed["level"] == "info");
      CHECK(msg.find("caller=test_vs_1") != std::string::npos);
      CHECK(msg.find("request_id=json-\"quoted\"-id") != std::string::npos);
    }
  }
  CHECK(call_lines == 1);
  CHECK(grpc_lines > 0);
}

TEST_CASE("a database that accepts but never answers: calls end UNAVAILABLE in bounded time",
          "[production]") {
  // A listening socket nobody accepts on: the kernel completes the TCP handshake and libpq
  // then waits for an answer that never comes (a hung server, or a black-holed failover).
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(fd, 64) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url =
      "postgresql://zeva@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/zeva";

  ServerProcess server(ServerEnv(url),
                       {"--db-connect-timeout-seconds=30", "--db-acquire-timeout-ms=1000"});
  server.WaitUntilServing(std::chrono::seconds(20), "");  // alive
  CHECK(server.Health(kContractService) == "NOT_SERVING");
  auto stub = ZEVModels::NewStub(server.Channel());
  grpc::ClientContext context;
  context.AddMetadata("authorization",
                      "Bearer " + SignToken(ValidClaims("test_vs_1"), TestKey(0).private_pem, ""));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  zeva::transactions::ModelDetailsRequest request;
  request.set_id(1);
  zeva::transactions::ModelDetails details;
  const auto started = Steady::now();
  const grpc::Status status = stub->GetModelDetails(&context, request, &details);
  const double took = Seconds(Steady::now() - started);
  WARN("call against a hung database ended " << status.error_code() << " after " << took << " s");
  INFO(status.error_message() << "\n" << server.Log());
  // The user lookup needs the database too: UNAVAILABLE, not UNAUTHENTICATED.
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(took < 5.0);  // the acquire timeout (1 s) rounded up to libpq's 2 s, not 30 s
  const auto signalled = Steady::now();
  CHECK(server.StopWith(SIGTERM, std::chrono::seconds(20)) == 0);
  CHECK(Seconds(Steady::now() - signalled) < 10.0);
  close(fd);
}
