// zeva-worker: reads its configuration once, sets up logging, delivers the outbox.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "config/worker_config.h"
#include "runtime/logging.h"
#include "runtime/shutdown.h"
#include "worker/worker_host.h"

int main(int argc, char** argv) {
  // As in the server: Abseil's deadlock detection (on in Debian's build) costs every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  zeva::runtime::BlockShutdownSignals();
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = zeva::config::ParseWorkerConfig(args, zeva::config::ProcessEnv());
  if (!parsed.ok()) {
    std::fprintf(stderr, "zeva-worker: %s\n(see --help)\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->help_requested) {
    std::fputs(zeva::config::WorkerHelp().c_str(), stdout);
    return 0;
  }
  const zeva::config::WorkerConfig& config = parsed->config;
  if (auto status = zeva::runtime::SetUpLogging(config.log_level, config.log_format);
      !status.ok()) {
    std::fprintf(stderr, "zeva-worker: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  return zeva::worker::RunWorker(config);
}
