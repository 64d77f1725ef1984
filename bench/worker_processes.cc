#include "bench/worker_processes.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <stdexcept>

namespace zeva::bench {

WorkerProcesses::WorkerProcesses(std::string binary, const std::string& database_url,
                                 const std::string& rabbitmq_url)
    : binary_(std::move(binary)),
      env_{"DATABASE_URL=" + database_url,
           "RABBITMQ_URL=" + rabbitmq_url,
           "HEALTH_PORT=0",
           "METRICS_PORT=0",
           "LOG_LEVEL=warn",
           "RETRY_MAX_MS=2000"} {
  // Sanitizer settings pass through, so that a sanitized worker reads the same suppressions
  // as the run that started the bench.
  // So do the lease and the timeouts it must exceed, which bench/outbox.sh --quick shortens
  // (a killed worker's events wait out its lease).
  for (const char* name :
       {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "OUTBOX_CLAIM_LEASE_MS",
        "BROKER_CONNECT_TIMEOUT_MS", "BROKER_CONFIRM_TIMEOUT_MS", "SMTP_TIMEOUT_MS"}) {
    if (const char* value = std::getenv(name)) env_.push_back(std::string(name) + "=" + value);
  }
}

WorkerProcesses::~WorkerProcesses() {
  for (pid_t pid : pids_) kill(pid, SIGTERM);
  for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
}

void WorkerProcesses::Start(int count) {
  std::vector<std::string> env = env_;
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string binary = binary_;
  char* argv[] = {binary.data(), nullptr};
  for (int i = 0; i < count; ++i) {
    pid_t pid = 0;
    if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv, envp.data()) != 0) {
      throw std::runtime_error("cannot start " + binary_);
    }
    pids_.push_back(pid);
  }
}

void WorkerProcesses::KillOne() {
  if (pids_.empty()) return;
  kill(pids_.front(), SIGKILL);
  waitpid(pids_.front(), nullptr, 0);
  pids_.erase(pids_.begin());
}

}  // namespace zeva::bench
