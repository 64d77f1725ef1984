#pragma once
// The closed loop: `concurrency` caller threads over `channels` channels, each making its next
// call as soon as the last one returns; a warm-up, then a measured window (or a fixed number
// of calls); per-call latencies merged at the end.

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "bench/bench_options.h"
#include "bench/latency.h"
#include "nlohmann/json.hpp"

namespace zeva::bench {

struct RunResult {
  std::string scenario;
  std::string label;
  int concurrency = 0;
  int channels = 0;
  double seconds = 0;  // the measured window
  int64_t calls = 0;   // finished in the window, OK or not
  int64_t errors = 0;  // any status but OK
  int64_t rows = 0;    // messages received by OK calls
  std::map<std::string, int64_t> errors_by_code;
  std::string first_error;
  LatencySummary latency;
  // CPU seconds used in the window by this process and (with --server-pid) the server.
  double client_cpu_seconds = -1;
  double server_cpu_seconds = -1;
};

absl::StatusOr<RunResult> RunLoad(const BenchOptions& options);

// The gRPC code's name, as results and reports spell it ("UNAVAILABLE").
const char* CodeName(grpc::StatusCode code);

nlohmann::json ToJson(const RunResult& result);

}  // namespace zeva::bench
