#include "tests/support/metrics_scrape.h"

#include <sstream>
#include <stdexcept>

#include "tests/support/process.h"

namespace zeva::testing {

std::string ScrapeMetrics(int port) {
  const CommandResult result = RunCommand(
      {"curl", "-sS", "--max-time", "5", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  if (result.exit_code != 0) throw std::runtime_error("curl on /metrics failed:\n" + result.output);
  return result.output;
}

double MetricValue(const std::string& text, const std::string& name,
                   const std::vector<std::string>& labels) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;  // another metric sharing the prefix
    bool all = true;
    for (const auto& label : labels) all = all && line.find(label) != std::string::npos;
    if (!all) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace zeva::testing
