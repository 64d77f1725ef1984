#pragma once
// Reads the server's Prometheus endpoint the way an operator would (curl), and picks values
// out of the text format.

#include <string>
#include <vector>

namespace zeva::testing {

// The text of http://127.0.0.1:PORT/metrics; throws when curl fails.
std::string ScrapeMetrics(int port);

// The value of the first sample of `name` whose label set contains every `labels` entry
// (each written as in the text format, e.g. `method="ListModels"`); -1 when there is none.
double MetricValue(const std::string& text, const std::string& name,
                   const std::vector<std::string>& labels = {});

}  // namespace zeva::testing
