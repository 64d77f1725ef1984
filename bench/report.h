#pragma once
// `zeva-bench report`: turns the JSON lines of one bench run (one line per zeva-bench call)
// into results.json, results.md and the data files the concurrency chart is drawn from.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace zeva::bench {

// The headline ratios (see docs/performance.md); null when a side is missing.
nlohmann::json Ratios(const std::vector<nlohmann::json>& results);

// The Markdown page: machine facts, the ratios, then one table per label.
std::string Markdown(const nlohmann::json& document);

// args: --results FILE --out-dir DIR, then facts as KEY=VALUE positional arguments.
int ReportMain(const std::vector<std::string>& args);

}  // namespace zeva::bench
