#include "bench/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace zeva::bench {

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<int64_t>& micros) {
  LatencySummary s;
  if (micros.empty()) return s;
  std::sort(micros.begin(), micros.end());
  s.p50_ms = static_cast<double>(Percentile(micros, 50)) / 1000.0;
  s.p99_ms = static_cast<double>(Percentile(micros, 99)) / 1000.0;
  s.p999_ms = static_cast<double>(Percentile(micros, 99.9)) / 1000.0;
  s.max_ms = static_cast<double>(micros.back()) / 1000.0;
  const double total = std::accumulate(micros.begin(), micros.end(), 0.0);
  s.mean_ms = total / static_cast<double>(micros.size()) / 1000.0;
  return s;
}

}  // namespace zeva::bench
