#include "bench/load_runner.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/credit_scenarios.h"
#include "bench/proc_stats.h"
#include "bench/scenarios.h"

namespace zeva::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

enum Phase : int { kWarmUp = 0, kMeasure = 1, kStop = 2 };

// What one caller thread saw; merged after the threads end.
struct CallerTally {
  std::vector<int64_t> micros;
  int64_t errors = 0;
  int64_t rows = 0;
  std::map<std::string, int64_t> errors_by_code;
  std::string first_error;
};

void CallerLoop(Worker& worker, const std::atomic<int>& phase, std::atomic<int64_t>* tickets,
                int64_t call_limit, CallerTally* tally) {
  tally->micros.reserve(1 << 14);
  while (true) {
    const int started_in = phase.load(std::memory_order_acquire);
    if (started_in == kStop) break;
    if (call_limit > 0 && tickets->fetch_add(1) >= call_limit) break;
    const auto t0 = SteadyClock::now();
    CallOutcome outcome = worker.Call();
    const auto t1 = SteadyClock::now();
    // Only calls wholly inside the measured window count (all of them in --calls mode).
    if (started_in != kMeasure || phase.load(std::memory_order_acquire) != kMeasure) continue;
    tally->micros.push_back(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
    if (outcome.code == grpc::StatusCode::OK) {
      tally->rows += outcome.rows;
    } else {
      ++tally->errors;
      ++tally->errors_by_code[CodeName(outcome.code)];
      if (tally->first_error.empty()) {
        tally->first_error = absl::StrCat(CodeName(outcome.code), ": ", outcome.message);
      }
    }
  }
}

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const BenchOptions& o) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    // Without it, channels to one address share one subchannel: one TCP connection in all.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(-1);
    channels.push_back(
        grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// CPU microseconds per call, or null when unknown.
nlohmann::json PerCallMicros(double cpu_seconds, int64_t calls) {
  if (cpu_seconds < 0 || calls == 0) return nullptr;
  return cpu_seconds * 1e6 / static_cast<double>(calls);
}

}  // namespace

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "OTHER";
  }
}

absl::StatusOr<RunResult> RunLoad(const BenchOptions& o) {
  auto channels = MakeChannels(o);
  if (o.wait_ready_ms > 0) {
    if (absl::Status ready = WaitUntilServing(channels[0], o.wait_ready_ms); !ready.ok()) {
      return ready;
    }
  }
  auto shared = PrepareShared(o, channels[0]);
  if (!shared.ok()) return shared.status();
  const bool credit = IsCreditScenario(o.scenario);
  auto credits = credit ? PrepareCredits(o, channels[0]) : CreditSetup{};
  if (!credits.ok()) return credits.status();
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.concurrency; ++i) {
    const auto& channel = channels[i % channels.size()];
    workers.push_back(credit ? MakeCreditWorker(o.scenario, o, *shared, *credits, channel, i)
                             : MakeWorker(o.scenario, o, *shared, channel, i));
    if (absl::Status prepared = workers.back()->Prepare(); !prepared.ok()) return prepared;
  }

  const bool fixed_calls = o.calls > 0;
  std::atomic<int> phase{fixed_calls ? kMeasure : kWarmUp};
  std::atomic<int64_t> tickets{0};
  std::vector<CallerTally> tallies(workers.size());
  std::vector<std::thread> threads;
  auto window_start = SteadyClock::now();
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back(CallerLoop, std::ref(*workers[i]), std::cref(phase), &tickets,
                         static_cast<int64_t>(o.calls), &tallies[i]);
  }
  auto window_end = window_start;
  // CPU used by the client (this process) and the server, sampled at the window's edges.
  double cpu_start[2] = {CpuSeconds(getpid()), o.server_pid > 0 ? CpuSeconds(o.server_pid) : -1};
  double cpu_end[2] = {-1, -1};
  auto sample = [&](double* into) {
    into[0] = CpuSeconds(getpid());
    into[1] = o.server_pid > 0 ? CpuSeconds(o.server_pid) : -1;
  };
  if (fixed_calls) {
    for (auto& t : threads) t.join();
    window_end = SteadyClock::now();
    sample(cpu_end);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(o.warmup_ms));
    window_start = SteadyClock::now();
    sample(cpu_start);
    phase.store(kMeasure, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::milliseconds(o.duration_ms));
    phase.store(kStop, std::memory_order_release);
    window_end = SteadyClock::now();
    sample(cpu_end);
    for (auto& t : threads) t.join();
  }

  RunResult result;
  result.scenario = o.scenario;
  result.label = o.label;
  result.concurrency = o.concurrency;
  result.channels = o.channels;
  result.seconds = std::chrono::duration<double>(window_end - window_start).count();
  if (cpu_start[0] >= 0 && cpu_end[0] >= 0) result.client_cpu_seconds = cpu_end[0] - cpu_start[0];
  if (cpu_start[1] >= 0 && cpu_end[1] >= 0) result.server_cpu_seconds = cpu_end[1] - cpu_start[1];
  std::vector<int64_t> micros;
  for (CallerTally& tally : tallies) {
    micros.insert(micros.end(), tally.micros.begin(), tally.micros.end());
    result.errors += tally.errors;
    result.rows += tally.rows;
    for (const auto& [code, count] : tally.errors_by_code) result.errors_by_code[code] += count;
    if (result.first_error.empty()) result.first_error = tally.first_error;
  }
  result.calls = static_cast<int64_t>(micros.size());
  result.latency = Summarize(micros);
  return result;
}

nlohmann::json ToJson(const RunResult& r) {
  const double seconds = r.seconds > 0 ? r.seconds : 1e-9;
  return nlohmann::json{
      {"scenario", r.scenario},
      {"label", r.label},
      {"concurrency", r.concurrency},
      {"channels", r.channels},
      {"seconds", r.seconds},
      {"calls", r.calls},
      {"errors", r.errors},
      {"errors_by_code", r.errors_by_code},
      {"first_error", r.first_error},
      {"rows", r.rows},
      {"calls_per_second", static_cast<double>(r.calls) / seconds},
      {"rows_per_second", static_cast<double>(r.rows) / seconds},
      {"p50_ms", r.latency.p50_ms},
      {"p99_ms", r.latency.p99_ms},
      {"p999_ms", r.latency.p999_ms},
      {"max_ms", r.latency.max_ms},
      {"mean_ms", r.latency.mean_ms},
      {"client_cpu_us_per_call", PerCallMicros(r.client_cpu_seconds, r.calls)},
      {"server_cpu_us_per_call", PerCallMicros(r.server_cpu_seconds, r.calls)},
  };
}

}  // namespace zeva::bench
