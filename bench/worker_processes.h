#pragma once
// zeva-worker processes for the outbox benchmark: started with posix_spawn, stopped with
// SIGTERM (their drain) on destruction, or killed outright (fault runs).

#include <sys/types.h>

#include <string>
#include <vector>

namespace zeva::bench {

class WorkerProcesses {
 public:
  WorkerProcesses(std::string binary, const std::string& database_url,
                  const std::string& rabbitmq_url);
  ~WorkerProcesses();  // SIGTERM, then wait, for each one still running
  WorkerProcesses(const WorkerProcesses&) = delete;
  WorkerProcesses& operator=(const WorkerProcesses&) = delete;

  void Start(int count);  // throws std::runtime_error when one cannot start
  void KillOne();         // SIGKILL the oldest, and reap it
  size_t running() const { return pids_.size(); }

 private:
  const std::string binary_;
  std::vector<std::string> env_;
  std::vector<pid_t> pids_;
};

}  // namespace zeva::bench
