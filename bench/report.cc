#include "bench/report.h"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "config/option_set.h"

namespace zeva::bench {
namespace {

using nlohmann::json;

const json* Find(const std::vector<json>& results, const std::string& label,
                 const std::string& scenario) {
  for (const json& r : results) {
    if (r.value("label", "") == label && r.value("scenario", "") == scenario) return &r;
  }
  return nullptr;
}

std::string Fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

std::string Number(const json& value, int digits) {
  return value.is_number() ? Fixed(value.get<double>(), digits) : "-";
}

std::string MiB(const json& r, const char* key) {
  return r.contains(key) ? Fixed(r[key].get<double>() / 1024.0, 1) : "-";
}

std::string ErrorsText(const json& r) {
  std::string text = std::to_string(r.value("errors", 0));
  if (r.value("errors", 0) > 0) text += " (" + r.value("first_error", std::string()) + ")";
  return text;
}

void ScenarioTable(std::ostream& out, const std::vector<json>& rows) {
  out << "| scenario | callers | calls/s | p50 ms | p99 ms | p99.9 ms | rows/s "
         "| server CPU µs/call | client CPU µs/call | round trips/call | errors |\n"
      << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const json& r : rows) {
    out << "| " << r.value("scenario", "") << " | " << r.value("concurrency", 0) << " | "
        << Number(r["calls_per_second"], 0) << " | " << Number(r["p50_ms"], 2) << " | "
        << Number(r["p99_ms"], 2) << " | " << Number(r["p999_ms"], 2) << " | "
        << Number(r["rows_per_second"], 0) << " | " << Number(r["server_cpu_us_per_call"], 0)
        << " | " << Number(r["client_cpu_us_per_call"], 0) << " | "
        << Number(r["round_trips_per_call"], 2) << " | " << ErrorsText(r) << " |\n";
  }
}

// a / b of one field of two results, or null when either is missing.
json Ratio(const json* a, const json* b, const char* field) {
  if (!a || !b || !a->contains(field) || !b->contains(field)) return nullptr;
  const double divisor = (*b)[field].get<double>();
  if (divisor <= 0) return nullptr;
  return (*a)[field].get<double>() / divisor;
}

void StreamTable(std::ostream& out, const std::vector<json>& rows) {
  out << "| rows per stream | streams | rows/s | p50 s per stream | server RSS before, MiB "
         "| server peak RSS, MiB | errors |\n"
      << "|---:|---:|---:|---:|---:|---:|---|\n";
  for (const json& r : rows) {
    const double calls = std::max(1.0, r.value("calls", 0.0));
    out << "| " << Fixed(r.value("rows", 0.0) / calls, 0) << " | " << r.value("calls", 0) << " | "
        << Number(r["rows_per_second"], 0) << " | " << Fixed(r.value("p50_ms", 0.0) / 1000.0, 3)
        << " | " << MiB(r, "server_rss_before_kib") << " | " << MiB(r, "server_peak_rss_kib")
        << " | " << ErrorsText(r) << " |\n";
  }
}

// One file per swept scenario: concurrency, calls/s, p99 ms (gnuplot reads them), named
// LABEL-SCENARIO.dat for the labels "sweep" and "credit-sweep".
absl::Status WriteSweepData(const std::vector<json>& results, const std::string& dir) {
  std::map<std::string, std::ostringstream> files;
  for (const json& r : results) {
    const std::string label = r.value("label", "");
    if (label != "sweep" && label != "credit-sweep") continue;
    files[label + "-" + r.value("scenario", "")]
        << r.value("concurrency", 0) << " " << Fixed(r.value("calls_per_second", 0.0), 1) << " "
        << Fixed(r.value("p99_ms", 0.0), 3) << "\n";
  }
  for (auto& [name, text] : files) {
    std::ofstream out(absl::StrCat(dir, "/", name, ".dat"));
    out << "# concurrency calls_per_second p99_ms\n" << text.str();
    if (!out) return absl::InternalError("cannot write sweep data under " + dir);
  }
  return absl::OkStatus();
}

}  // namespace

json Ratios(const std::vector<json>& results) {
  json ratios = json::object();
  const json* health = Find(results, "scenarios", "health");
  const json* organization = Find(results, "scenarios", "organization");
  ratios["organization_over_health_calls"] = nullptr;
  if (health && organization && (*health)["calls_per_second"].get<double>() > 0) {
    ratios["organization_over_health_calls"] = (*organization)["calls_per_second"].get<double>() /
                                               (*health)["calls_per_second"].get<double>();
  }
  // The credit API (issue 16's targets).
  const json* balances_small = nullptr;
  const json* balances_large = nullptr;
  auto ledger_size = [](const json& r) {
    const std::string label = r.value("label", "");
    return label.rfind("ledger-", 0) == 0 ? std::stod(label.substr(7)) : -1.0;
  };
  for (const json& r : results) {
    if (r.value("scenario", "") != "balances" || ledger_size(r) < 0) continue;
    if (!balances_small || ledger_size(r) < ledger_size(*balances_small)) balances_small = &r;
    if (!balances_large || ledger_size(r) > ledger_size(*balances_large)) balances_large = &r;
  }
  ratios["balances_over_health_calls"] = Ratio(balances_small, health, "calls_per_second");
  ratios["balances_p50_large_over_small_ledger"] =
      balances_small != balances_large ? Ratio(balances_large, balances_small, "p50_ms") : nullptr;
  if (balances_small && balances_large) {
    ratios["ledger_sizes"] = {ledger_size(*balances_small), ledger_size(*balances_large)};
  }
  ratios["contended_over_spread_transitions"] =
      Ratio(Find(results, "contention", "contention-hot"),
            Find(results, "contention", "contention-spread"), "calls_per_second");
  ratios["list_models_over_organization_calls"] =
      Ratio(Find(results, "scenarios", "list-models"), organization, "calls_per_second");
  // The largest over the smallest stream size measured.
  const json* smallest = nullptr;
  const json* largest = nullptr;
  auto per_call = [](const json& r) {
    return r.value("rows", 0.0) / std::max(1.0, r.value("calls", 0.0));
  };
  for (const json& r : results) {
    if (r.value("label", "") != "stream" || !r.contains("server_peak_rss_kib")) continue;
    if (!smallest || per_call(r) < per_call(*smallest)) smallest = &r;
    if (!largest || per_call(r) > per_call(*largest)) largest = &r;
  }
  ratios["peak_rss_largest_over_smallest_stream"] = nullptr;
  if (smallest && largest && smallest != largest) {
    ratios["peak_rss_largest_over_smallest_stream"] =
        (*largest)["server_peak_rss_kib"].get<double>() /
        (*smallest)["server_peak_rss_kib"].get<double>();
    ratios["stream_sizes"] = {per_call(*smallest), per_call(*largest)};
  }
  return ratios;
}

std::string Markdown(const json& document) {
  std::ostringstream out;
  out << "# zeva-bench results\n\n";
  for (const auto& [key, value] : document["machine"].items()) {
    out << "- " << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump())
        << "\n";
  }
  const json& ratios = document["ratios"];
  out << "\n## Headline ratios (same run)\n\n"
      << "- GetMyOrganization calls/s / health Check calls/s: "
      << Number(ratios["organization_over_health_calls"], 2) << " (target >= 0.5)\n"
      << "- server peak RSS, largest stream / smallest stream: "
      << Number(ratios["peak_rss_largest_over_smallest_stream"], 2) << " (target < 2)\n"
      << "- GetBalances calls/s (small ledger) / health Check calls/s: "
      << Number(ratios["balances_over_health_calls"], 2) << " (target >= 0.5)\n"
      << "- GetBalances p50, large ledger / small ledger: "
      << Number(ratios["balances_p50_large_over_small_ledger"], 2) << " (target <= 1.2)\n"
      << "- transitions/s, one hot seller / 64 spread sellers: "
      << Number(ratios["contended_over_spread_transitions"], 2) << " (target >= 0.5)\n"
      << "- ListModels (3 rows) calls/s / GetMyOrganization calls/s: "
      << Number(ratios["list_models_over_organization_calls"], 2) << " (target >= 0.5)\n";

  std::map<std::string, std::vector<json>> by_label;
  std::vector<std::string> order;
  for (const json& r : document["results"]) {
    const std::string label = r.value("label", "");
    if (!by_label.count(label)) order.push_back(label);
    by_label[label].push_back(r);
  }
  for (const std::string& label : order) {
    out << "\n## " << label << "\n\n";
    if (label == "stream") {
      StreamTable(out, by_label[label]);
    } else {
      ScenarioTable(out, by_label[label]);
    }
  }
  return out.str();
}

int ReportMain(const std::vector<std::string>& args) {
  std::string results_path;
  std::string out_dir;
  config::OptionSet options(
      "zeva-bench report: results.json, results.md and sweep-*.dat from one run's JSON lines.\n"
      "Usage: zeva-bench report --results FILE --out-dir DIR [KEY=VALUE machine facts...]");
  options.AddString("results", "", "", "JSON lines written by zeva-bench runs.", &results_path);
  options.AddString("out-dir", "", "", "Where the outputs go.", &out_dir);
  bool help = false;
  auto facts = options.Parse(args, config::ProcessEnv(), &help);
  if (!facts.ok()) {
    std::cerr << "zeva-bench report: " << facts.status().message() << "\n";
    return 2;
  }
  if (help) {
    std::cout << options.Help();
    return 0;
  }
  json document;
  document["machine"] = json::object();
  for (const std::string& fact : *facts) {
    const auto eq = fact.find('=');
    if (eq == std::string::npos) {
      std::cerr << "zeva-bench report: facts are KEY=VALUE, not " << fact << "\n";
      return 2;
    }
    document["machine"][fact.substr(0, eq)] = fact.substr(eq + 1);
  }
  std::vector<json> results;
  std::ifstream in(results_path);
  if (!in) {
    std::cerr << "zeva-bench report: cannot read " << results_path << "\n";
    return 1;
  }
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) results.push_back(json::parse(line));
  }
  document["results"] = results;
  document["ratios"] = Ratios(results);
  std::ofstream(out_dir + "/results.json") << document.dump(2) << "\n";
  std::ofstream(out_dir + "/results.md") << Markdown(document);
  if (absl::Status sweep = WriteSweepData(results, out_dir); !sweep.ok()) {
    std::cerr << "zeva-bench report: " << sweep.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace zeva::bench
