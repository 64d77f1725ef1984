// A smoke run of zeva-bench against a real server: the load generator and its report work
// end to end. Only errors and call counts are asserted, never timing.

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/process.h"
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
  for (const std::string scenario : {"mixed", "health"}) {
    auto run = zeva::testing::RunCommand(
        {ZEVA_BENCH_BINARY, "--target", fixture.server().address(), "--scenario", scenario,
         "--label", "scenarios", "--concurrency", "4", "--channels", "2", "--warmup-ms", "200",
         "--duration-ms", "1200", "--server-pid", std::to_string(fixture.server().pid())},
        env);
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    const nlohmann::json result = ResultLine(run.output);
    CHECK(result["scenario"] == scenario);
    CHECK(result["errors"] == 0);
    CHECK(result["calls"].get<int64_t>() > 0);
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
  CHECK(document["results"].size() == 2);
}

TEST_CASE("zeva-bench refuses a scenario that needs a token when none is given", "[bench]") {
  auto run =
      zeva::testing::RunCommand({ZEVA_BENCH_BINARY, "--scenario", "organization", "--calls", "1"},
                                {{"ZEVA_BENCH_TOKEN", ""}});
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("--token") != std::string::npos);
}
