#pragma once
// zeva-bench's options (flag > environment > default, as every binary of the project).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/option_set.h"

namespace zeva::bench {

// The scenario names, as --scenario takes them.
inline const std::vector<std::string>& ScenarioNames() {
  static const std::vector<std::string> names{
      "health",           "organization",      "model-details", "list-models",
      "transactions",     "create-model",      "update-model",  "mixed",
      "balances",         "ledger-entries",    "issue-credits", "transfer-lifecycle",
      "contention-hot",   "contention-spread", "current-user",  "unread-notifications",
      "compliance-ratios"};
  return names;
}

struct BenchOptions {
  std::string target;
  std::string scenario;
  std::string label;  // copied into the result, e.g. "sweep" or "stream-1000"
  int concurrency = 16;
  int channels = 4;  // capped at concurrency
  int duration_ms = 10000;
  int warmup_ms = 2000;
  int calls = 0;  // > 0: stop after this many measured calls instead of after duration_ms
  int call_timeout_ms = 60000;
  int wait_ready_ms = 0;     // > 0: first wait this long for the server to report SERVING
  int server_pid = 0;        // > 0: report this process's resident memory (/proc/PID/status)
  std::string token;         // callers' token (a supplier that can read)
  std::string writer_token;  // token for create/update (a supplier); defaults to token
  // The credit scenarios' users: lines "USERNAME TOKEN" (bench/run.sh writes them).
  std::string tokens_file;
  uint64_t issue_organization_id = 0;  // issue-credits: the supplier and its vehicle
  uint64_t issue_vehicle_id = 0;
  // When set (a PostgreSQL with pg_stat_statements), results count round trips per call.
  std::string database_url;
};

struct ParsedBenchOptions {
  BenchOptions options;
  bool help_requested = false;
  std::string help;
};

absl::StatusOr<ParsedBenchOptions> ParseBenchOptions(const std::vector<std::string>& args,
                                                     const config::EnvLookup& env);

}  // namespace zeva::bench
