// zeva-bench: closed-loop load on a running server, one JSON result line on stdout
// (see bench/run.sh, which runs every scenario and then `zeva-bench report`).

#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/bench_options.h"
#include "bench/load_runner.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/round_trips.h"

int main(int argc, char** argv) {
  // As in the server: no lock-order graph on every absl::Mutex (Debian's Abseil keeps one).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "report") {
    return zeva::bench::ReportMain(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (!args.empty() && args[0] == "audit") {
    return zeva::bench::AuditMain(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  auto parsed = zeva::bench::ParseBenchOptions(args, zeva::config::ProcessEnv());
  if (!parsed.ok()) {
    std::cerr << "zeva-bench: " << parsed.status().message() << "\n";
    return 2;
  }
  if (parsed->help_requested) {
    std::cout << parsed->help;
    return 0;
  }
  const zeva::bench::BenchOptions& options = parsed->options;
  const long rss_before =
      options.server_pid > 0 ? zeva::bench::StatusKiB(options.server_pid, "VmRSS") : -1;
  // Round trips to PostgreSQL: every statement the server sends (BEGIN, SET, COMMIT
  // included) is one, as pg_stat_statements counts them.
  const auto statements_before = zeva::bench::StatementsExecuted(options.database_url);
  auto result = zeva::bench::RunLoad(options);
  if (!result.ok()) {
    std::cerr << "zeva-bench: " << result.status().message() << "\n";
    return 1;
  }
  nlohmann::json line = zeva::bench::ToJson(*result);
  const auto statements_after = zeva::bench::StatementsExecuted(options.database_url);
  if (statements_before.ok() && statements_after.ok() && result->calls > 0) {
    // Minus the first snapshot's own statement.
    line["round_trips_per_call"] = static_cast<double>(*statements_after - *statements_before - 1) /
                                   static_cast<double>(result->calls);
  }
  if (options.server_pid > 0) {
    line["server_rss_before_kib"] = rss_before;
    line["server_peak_rss_kib"] = zeva::bench::StatusKiB(options.server_pid, "VmHWM");
    line["server_rss_after_kib"] = zeva::bench::StatusKiB(options.server_pid, "VmRSS");
  }
  std::cout << line.dump() << std::endl;
  if (result->errors > 0) {
    std::cerr << "zeva-bench: " << result->errors << " of " << result->calls
              << " calls failed; first: " << result->first_error << "\n";
  }
  return 0;
}
