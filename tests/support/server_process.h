#pragma once
// The real zeva-transaction-service binary, started on a free port for end-to-end tests.

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace zeva::testing {

class ServerProcess {
 public:
  // Starts the server with `env` (on top of the test's environment; PORT, unless `env` sets
  // it, is a free port) and extra flags. Does not wait: call WaitUntilServing or WaitForHealth.
  ServerProcess(std::map<std::string, std::string> env, std::vector<std::string> flags = {});
  // The same for zeva-worker: its gRPC health port (HEALTH_PORT) is port(); readiness is the
  // service "zeva.worker".
  static std::unique_ptr<ServerProcess> Worker(std::map<std::string, std::string> env,
                                               std::vector<std::string> flags = {});
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  // Resident memory now, and its peak since start (VmRSS / VmHWM of /proc/PID/status), KiB.
  long ResidentKiB() const;
  long PeakResidentKiB() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> Channel() const;

  // Polls grpc.health.v1.Health/Check for `service` until SERVING; throws with the server's
  // log on timeout or if the process exits. The default is a contract service, which turns
  // SERVING only when the server is ready (database reachable, keys loaded); "" is liveness.
  void WaitUntilServing(std::chrono::milliseconds timeout = std::chrono::seconds(20),
                        const std::string& service = "zeva.transactions.TransactionList");
  // Current health status of `service` as the server reports it: "SERVING", "NOT_SERVING",
  // "UNREACHABLE" (no answer) or the gRPC error code's name.
  std::string Health(const std::string& service = "") const;

  // Sends `signal` and waits up to `timeout` for exit; returns the exit code (-1 for a
  // signal death, -2 on timeout, after which the process is killed).
  int StopWith(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running();
  // Everything the server has logged so far.
  std::string Log() const;
  // The same without the per-call lines (tens of thousands under load, in an outage).
  std::string LogWithoutCalls() const;

 private:
  ServerProcess(const std::string& binary, const std::string& port_variable,
                std::map<std::string, std::string> env, std::vector<std::string> flags);
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string log_path_;
};

// The paths of the built binaries, known at compile time.
std::string ServerBinary();
std::string MigrateBinary();
std::string WorkerBinary();

}  // namespace zeva::testing
