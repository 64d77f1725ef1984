// zeva-transaction-service: reads its configuration once, sets up logging, serves.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "config/server_config.h"
#include "runtime/logging.h"
#include "runtime/shutdown.h"
#include "server/service_host.h"

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, so every absl::Mutex (gRPC's own locks included)
  // kept a lock-order graph behind one global lock on every acquisition: a few percent of
  // each call and a point of contention between threads, for a debugging aid
  // (docs/performance.md). Off before any thread starts.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  zeva::runtime::BlockShutdownSignals();
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = zeva::config::ParseServerConfig(args, zeva::config::ProcessEnv());
  if (!parsed.ok()) {
    std::fprintf(stderr, "zeva-transaction-service: %s\n(see --help)\n",
                 std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->help_requested) {
    std::fputs(zeva::config::ServerHelp().c_str(), stdout);
    return 0;
  }
  const zeva::config::ServerConfig& config = parsed->config;
  if (auto status = zeva::runtime::SetUpLogging(config.log_level, config.log_format);
      !status.ok()) {
    std::fprintf(stderr, "zeva-transaction-service: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  return zeva::server::RunServer(config);
}
