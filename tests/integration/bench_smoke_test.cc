// A smoke run of zeva-bench against a real server: the load generator and its report work
// end to end. Only errors and call counts are asserted, never timing.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/server_process.h"
#include "tests/support/service_fixture.h"

namespace {

// The JSON result line among zeva-bench's output (stderr is interleaved with it).
nlohmann::json ResultLine(const std::string& output) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '{') return nlohmann::json::parse(line);
  }
  FAIL("no JSON result line in zeva-bench's output:\n" << output);
  return {};
}

}  // namespace

TEST_CASE("zeva-bench runs the mixed workload with no errors and reports it", "[bench]") {
  zeva::testing::ServiceFixture fixture;
  using zeva::testing::SignToken;
  using zeva::testing::TestKey;
  using zeva::testing::ValidClaims;
  const std::map<std::string, std::string> env{
      {"ZEVA_BENCH_TOKEN", SignToken(ValidClaims("test_vs_1"), TestKey(0).private_pem, "")},
      {"ZEVA_BENCH_WRITER_TOKEN", SignToken(ValidClaims("test_vs_2"), TestKey(0).private_pem, "")}};

  zeva::testing::TempDir dir;
  std::ofstream results(dir.path() + "/results.jsonl");
  // mixed and health for a while; then 20 calls of each family that bench/run.sh --methods
  // measures by a call with an empty request.
  for (const std::string scenario :
       {"mixed", "health", "current-user", "unread-notifications", "compliance-ratios"}) {
    const bool timed = scenario == "mixed" || scenario == "health";
    auto run = zeva::testing::RunCommand(
        {ZEVA_BENCH_BINARY, "--target", fixture.server().address(), "--scenario", scenario,
         "--label", "scenarios", "--concurrency", "4", "--channels", "2", "--warmup-ms",
         timed ? "200" : "0", timed ? "--duration-ms" : "--calls", timed ? "1200" : "20",
         "--server-pid", std::to_string(fixture.server().pid())},
        env);
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const nlohmann::json result = ResultLine(run.output);
    CHECK(result["scenario"] == scenario);
    CHECK(result["errors"] == 0);
    CHECK(result["calls"].get<int64_t>() > 0);
    if (!timed) CHECK(result["calls"] == 20);
    CHECK(result["server_peak_rss_kib"].get<int64_t>() > 0);
    results << result.dump() << "\n";
  }
  results.close();

  auto report = zeva::testing::RunCommand({ZEVA_BENCH_BINARY, "report", "--results",
                                           dir.path() + "/results.jsonl", "--out-dir", dir.path(),
                                           "cores=2"});
  INFO(report.output);
  REQUIRE(report.exit_code == 0);
  std::ifstream markdown(dir.path() + "/results.md");
  std::stringstream text;
  text << markdown.rdbuf();
  CHECK(text.str().find("| mixed | 4 |") != std::string::npos);
  CHECK(text.str().find("- cores: 2") != std::string::npos);
  std::ifstream json_file(dir.path() + "/results.json");
  const nlohmann::json document = nlohmann::json::parse(json_file);
  CHECK(document["ratios"]["organization_over_health_calls"].is_null());  // no organization run
  CHECK(document["results"].size() == 5);
}

TEST_CASE("zeva-bench refuses a scenario that needs a token when none is given", "[bench]") {
  auto run =
      zeva::testing::RunCommand({ZEVA_BENCH_BINARY, "--scenario", "organization", "--calls", "1"},
                                {{"ZEVA_BENCH_TOKEN", ""}});
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("--token") != std::string::npos);
}

TEST_CASE("the credit scenarios run without errors and the audit holds, and fails when broken",
          "[bench]") {
  zeva::testing::ServiceFixture fixture({"--db-pool-caller-share-percent=100"});
  using zeva::testing::SignToken;
  using zeva::testing::Sql;
  using zeva::testing::TestKey;
  using zeva::testing::ValidClaims;
  const std::string url = fixture.database_url();
  // Two users of one hot seller and one spread seller each, as bench/run.sh makes them.
  Sql(url,
      "INSERT INTO organizations (name) VALUES ('Bench Hot Seller'), ('Bench Spread Seller 1'), "
      "('Bench Spread Seller 2');"
      "INSERT INTO users (username, organization_id) SELECT 'bench_hot_' || g, o.id "
      "FROM organizations o, generate_series(1, 2) g WHERE o.name = 'Bench Hot Seller';"
      "INSERT INTO users (username, organization_id) SELECT 'bench_spread_' || g, o.id "
      "FROM organizations o, generate_series(1, 2) g WHERE o.name = 'Bench Spread Seller ' || g;"
      "INSERT INTO user_roles (username, role) SELECT username, r::user_role FROM users, "
      "unnest(ARRAY['SIGNING_AUTHORITY', 'ZEVA_USER']) r WHERE username LIKE 'bench_%'");
  zeva::testing::TempDir dir;
  const std::string tokens = dir.path() + "/tokens";
  {
    std::ofstream out(tokens);
    for (const char* user : {"test_gov_director", "test_gov_1", "test_vs_2", "bench_hot_1",
                             "bench_hot_2", "bench_spread_1", "bench_spread_2"}) {
      out << user << " " << SignToken(ValidClaims(user), TestKey(0).private_pem, "") << "\n";
    }
  }
  for (const std::string scenario : {"contention-hot", "contention-spread", "transfer-lifecycle"}) {
    auto run =
        zeva::testing::RunCommand({ZEVA_BENCH_BINARY, "--target", fixture.server().address(),
                                   "--scenario", scenario, "--concurrency", "2", "--channels", "1",
                                   "--calls", "12", "--tokens-file", tokens, "--database-url", url},
                                  {{"ZEVA_BENCH_TOKEN", "unused"}});
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const nlohmann::json result = ResultLine(run.output);
    CHECK(result["errors"] == 0);
    CHECK(result["calls"] == 12);
    // pg_stat_statements is not loaded in the tests' PostgreSQL: no round trips claimed.
    CHECK_FALSE(result.contains("round_trips_per_call"));
  }
  auto audit = zeva::testing::RunCommand({ZEVA_BENCH_BINARY, "audit", "--database-url", url});
  INFO(audit.output);
  CHECK(audit.exit_code == 0);
  CHECK(audit.output.find("audit: 0 violations") != std::string::npos);
  // A posted balance that no entry explains (the database's triggers off: 0018 refuses it
  // otherwise): the audit names it and fails.
  Sql(url,
      "SET LOCAL session_replication_role = replica;"
      "UPDATE credit_accounts SET posted = posted + 1 WHERE organization_id = (SELECT id "
      "FROM organizations WHERE name = 'Bench Hot Seller')");
  audit = zeva::testing::RunCommand({ZEVA_BENCH_BINARY, "audit", "--database-url", url});
  CHECK(audit.exit_code == 1);
  CHECK(audit.output.find("violation: account") != std::string::npos);
}

TEST_CASE("bench/run.sh measures every scenario, audits the writes and draws its charts",
          "[bench]") {
  zeva::testing::TempDir out;
  const std::string build_dir =
      std::filesystem::path(ZEVA_BENCH_BINARY).parent_path().parent_path().string();
  // The quick mode, smaller still: this checks the machinery, not the figures.
  const auto run =
      zeva::testing::RunCommand({"bash", zeva::testing::SourceDir() + "/bench/run.sh", "--quick"},
                                {{"SKIP_BUILD", "1"},
                                 {"BUILD_DIR", build_dir},
                                 {"BENCH_OUT", out.path()},
                                 {"DURATION_MS", "200"},
                                 {"WARMUP_MS", "50"},
                                 {"SWEEP", "1 4"},
                                 {"CREDIT_SWEEP", "1 4"},
                                 {"STREAM_SIZES", "1000"},
                                 {"LEDGER_SIZES", "1000 10000"},
                                 {"CONTENTION", "8"},
                                 {"ROUND_TRIP_CALLS", "40"}});
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::ifstream file(out.path() + "/results.json");
  const nlohmann::json document = nlohmann::json::parse(file);
  const nlohmann::json& ratios = document["ratios"];
  for (const char* ratio :
       {"balances_over_health_calls", "balances_p50_large_over_small_ledger",
        "contended_over_spread_transitions", "list_models_over_organization_calls"}) {
    INFO(ratio);
    CHECK(ratios[ratio].is_number());
  }
  int round_trip_runs = 0;
  for (const auto& r : document["results"]) {
    CHECK(r["errors"] == 0);
    if (r["label"] == "roundtrips") {
      ++round_trip_runs;
      REQUIRE(r.contains("round_trips_per_call"));
      // A stream of three rows and GetBalances are one statement each.
      if (r["scenario"] == "list-models" || r["scenario"] == "balances") {
        CHECK(r["round_trips_per_call"].get<double>() < 1.5);
      }
    }
  }
  CHECK(round_trip_runs == 6);
  CHECK(std::filesystem::exists(out.path() + "/concurrency.png"));
  CHECK(std::filesystem::exists(out.path() + "/credit-concurrency.png"));
}

// A smoke run of the outbox benchmark (a benchmark script: [bench], not [worker]).
TEST_CASE("the outbox benchmark, fault runs included, runs end to end and loses no event",
          "[bench]") {
  zeva::testing::TempDir out;
  const std::string build_dir =
      std::filesystem::path(zeva::testing::WorkerBinary()).parent_path().parent_path().string();
  const auto run = zeva::testing::RunCommand(
      {"bash", zeva::testing::SourceDir() + "/bench/outbox.sh", "--quick"},
      {{"SKIP_BUILD", "1"}, {"BUILD_DIR", build_dir}, {"BENCH_OUT", out.path()}});
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::ifstream file(out.path() + "/outbox.json");
  const auto results = nlohmann::json::parse(file);
  REQUIRE(results["throughput"].size() == 2);
  for (const auto& r : results["throughput"]) CHECK(r["events_per_second"].get<double>() > 0);
  REQUIRE(results["latency"].size() == 2);
  for (const auto& r : results["latency"]) {
    CHECK(r["events_lost"] == 0);
    CHECK(r["calls_failed"] == 0);
    CHECK(r["events"].get<int64_t>() >= 50);  // --quick: 50 notified events per level
  }
  // The fault runs: PostgreSQL restarted, RabbitMQ stopped, a worker killed, mid-load.
  REQUIRE(results["faults"].size() == 3);
  for (const auto& r : results["faults"]) {
    INFO(r.dump());
    CHECK(r["events_lost"] == 0);
    CHECK(r["violations"] == 0);
    CHECK(r["calls_ok"].get<int64_t>() > 0);
    CHECK(r["events"].get<int64_t>() >= r["calls_ok"].get<int64_t>());  // one event per change
  }
  CHECK(std::filesystem::exists(out.path() + "/outbox-latency.png"));
}

TEST_CASE("bench/applications.sh files, checks side by side with psql and validates", "[bench]") {
  zeva::testing::TempDir out;
  const std::string build_dir =
      std::filesystem::path(ZEVA_BENCH_BINARY).parent_path().parent_path().string();
  // Tiny sizes: this checks the machinery (every record checked clean, included, awarded, the
  // report written), not the figures.
  const std::map<std::string, std::string> env{{"SKIP_BUILD", "1"},
                                               {"BUILD_DIR", build_dir},
                                               {"BENCH_OUT", out.path()},
                                               {"REGISTRATIONS", "3000"},
                                               {"RECORDS", "120"},
                                               {"BATCH", "50"},
                                               {"ROUNDS", "1"}};
  const auto run = zeva::testing::RunCommand(
      {"bash", zeva::testing::SourceDir() + "/bench/applications.sh"}, env);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::ifstream file(out.path() + "/applications.md");
  std::stringstream text;
  text << file.rdbuf();
  INFO(text.str());
  CHECK(text.str().find("| AddSalesRecords: 120 records in 3 calls of 50 |") != std::string::npos);
  CHECK(text.str().find("| VALIDATE: 120 included records, one transaction") != std::string::npos);
  // 120 x 2.36 credits.
  CHECK(text.str().find("28320 hundredths") != std::string::npos);
  CHECK(text.str().find("| median |") != std::string::npos);
  CHECK(text.str().find("Ratio (median service CHECK over median psql UPDATE): ") !=
        std::string::npos);
}
