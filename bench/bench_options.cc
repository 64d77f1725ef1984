#include "bench/bench_options.h"

namespace zeva::bench {

absl::StatusOr<ParsedBenchOptions> ParseBenchOptions(const std::vector<std::string>& args,
                                                     const config::EnvLookup& env) {
  ParsedBenchOptions parsed;
  BenchOptions* o = &parsed.options;
  config::OptionSet options(
      "zeva-bench: closed-loop load on a running zeva-transaction-service; prints one JSON\n"
      "result line. Usage: zeva-bench [options]   |   zeva-bench report [options]");
  options.AddString("target", "ZEVA_BENCH_TARGET", "127.0.0.1:10102", "Server address.",
                    &o->target);
  options.AddChoice("scenario", "", "health", ScenarioNames(), "What each caller calls.",
                    &o->scenario);
  options.AddString("label", "", "", "Free text copied into the result.", &o->label);
  options.AddInt("concurrency", "", 16, 1, 4096, "Concurrent callers (closed loop).",
                 &o->concurrency);
  options.AddInt("channels", "", 4, 1, 1024,
                 "gRPC channels (TCP connections) the callers share, round robin.", &o->channels);
  options.AddInt("duration-ms", "", 10000, 1, 3600 * 1000, "Measured time.", &o->duration_ms);
  options.AddInt("warmup-ms", "", 2000, 0, 3600 * 1000, "Unmeasured load before it.",
                 &o->warmup_ms);
  options.AddInt("calls", "", 0, 0, 1 << 30,
                 "When > 0: measure exactly this many calls (no warm-up) instead of a duration.",
                 &o->calls);
  options.AddInt("call-timeout-ms", "", 60000, 1, 3600 * 1000, "Deadline of each call.",
                 &o->call_timeout_ms);
  options.AddInt("wait-ready-ms", "", 0, 0, 600 * 1000,
                 "When > 0: first wait up to this long for the server to report SERVING.",
                 &o->wait_ready_ms);
  options.AddInt("server-pid", "", 0, 0, 1 << 30,
                 "When > 0: add this server process's VmRSS before and VmHWM after to the result.",
                 &o->server_pid);
  options.AddSecret("token", "ZEVA_BENCH_TOKEN", "Bearer token of the reading caller.", &o->token);
  options.AddSecret("writer-token", "ZEVA_BENCH_WRITER_TOKEN",
                    "Bearer token for creates/updates (default: --token).", &o->writer_token);
  options.AddString("tokens-file", "ZEVA_BENCH_TOKENS_FILE", "",
                    "The credit scenarios' users and tokens, one \"USERNAME TOKEN\" per line.",
                    &o->tokens_file);
  int issue_organization = 0, issue_vehicle = 0;
  options.AddInt("issue-organization-id", "", 0, 0, 1 << 30,
                 "issue-credits: the supplier credits are issued to.", &issue_organization);
  options.AddInt("issue-vehicle-id", "", 0, 0, 1 << 30,
                 "issue-credits: that supplier's vehicle the issuance names.", &issue_vehicle);
  options.AddSecret("database-url", "ZEVA_BENCH_DATABASE_URL",
                    "The server's database, with pg_stat_statements loaded: results then give "
                    "the statements (round trips) per call. Use with --calls (no warm-up).",
                    &o->database_url);
  auto positional = options.Parse(args, env, &parsed.help_requested);
  o->issue_organization_id = static_cast<uint64_t>(issue_organization);
  o->issue_vehicle_id = static_cast<uint64_t>(issue_vehicle);
  if (!positional.ok()) return positional.status();
  parsed.help = options.Help();
  if (parsed.help_requested) return parsed;
  if (!positional->empty()) return absl::InvalidArgumentError("no positional arguments expected");
  if (o->writer_token.empty()) o->writer_token = o->token;
  if (o->token.empty() && o->scenario != "health") {
    return absl::InvalidArgumentError("--token (ZEVA_BENCH_TOKEN) is needed for " + o->scenario);
  }
  if (o->channels > o->concurrency) o->channels = o->concurrency;
  return parsed;
}

}  // namespace zeva::bench
