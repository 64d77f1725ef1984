#pragma once
// Latency percentiles of a finished run (nearest-rank on the sorted samples).

#include <cstdint>
#include <vector>

namespace zeva::bench {

struct LatencySummary {
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  double mean_ms = 0;
};

// `micros` is sorted in place. Empty input gives all zeros.
LatencySummary Summarize(std::vector<int64_t>& micros);

// Nearest-rank percentile (0 < p <= 100) of sorted, non-empty samples.
int64_t Percentile(const std::vector<int64_t>& sorted, double p);

}  // namespace zeva::bench
