#include "tests/support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/process.h"

namespace zeva::testing {

std::string ServerBinary() { return ZEVA_SERVER_BINARY; }
std::string MigrateBinary() { return ZEVA_MIGRATE_BINARY; }
std::string WorkerBinary() { return ZEVA_WORKER_BINARY; }

ServerProcess::ServerProcess(std::map<std::string, std::string> env, std::vector<std::string> flags)
    : ServerProcess(ServerBinary(), "PORT", std::move(env), std::move(flags)) {}

std::unique_ptr<ServerProcess> ServerProcess::Worker(std::map<std::string, std::string> env,
                                                     std::vector<std::string> flags) {
  return std::unique_ptr<ServerProcess>(
      new ServerProcess(WorkerBinary(), "HEALTH_PORT", std::move(env), std::move(flags)));
}

ServerProcess::ServerProcess(const std::string& binary, const std::string& port_variable,
                             std::map<std::string, std::string> env,
                             std::vector<std::string> flags) {
  // A given port is kept: a replica restarted in place must come back on its address.
  port_ = env.count(port_variable) ? std::stoi(env[port_variable]) : FreePort();
  char log_template[] = "/tmp/zeva-server-log-XXXXXX";
  const int log_fd = mkstemp(log_template);
  if (log_fd < 0) throw std::runtime_error("mkstemp failed");
  log_path_ = log_template;
  env[port_variable] = std::to_string(port_);
  // Servers run side by side in tests: each gets its own metrics port too.
  // Two FreePort calls in a row can return the same port (seen in the ASan run).
  if (env.count("METRICS_PORT") == 0) {
    int metrics_port = FreePort();
    while (metrics_port == port_) metrics_port = FreePort();
    env["METRICS_PORT"] = std::to_string(metrics_port);
  }
  metrics_port_ = std::stoi(env["METRICS_PORT"]);
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const PreparedExec exec(argv, env);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    close(log_fd);
    // The test process may block signals; the server must start with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    exec.ExecInChild();
  }
  close(log_fd);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && Running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::remove(log_path_.c_str());
}

std::shared_ptr<grpc::Channel> ServerProcess::Channel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

std::string ServerProcess::Health(const std::string& service) const {
  auto stub = grpc::health::v1::Health::NewStub(Channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return "UNREACHABLE";
  }
  if (!status.ok()) return "ERROR " + std::to_string(status.error_code());
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

void ServerProcess::WaitUntilServing(std::chrono::milliseconds timeout,
                                     const std::string& service) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) throw std::runtime_error("server exited during start-up:\n" + Log());
    if (Health(service) == "SERVING") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("server not SERVING in time:\n" + Log());
}

bool ServerProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t result = waitpid(pid_, &status, WNOHANG);
  if (result == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int ServerProcess::StopWith(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -3;
  kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  return -2;
}

namespace {
long StatusField(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  throw std::runtime_error("no " + field + " for pid " + std::to_string(pid));
}
}  // namespace

long ServerProcess::ResidentKiB() const { return StatusField(pid_, "VmRSS"); }
long ServerProcess::PeakResidentKiB() const { return StatusField(pid_, "VmHWM"); }

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string ServerProcess::LogWithoutCalls() const {
  std::ifstream in(log_path_);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("] call ") == std::string::npos) out += line + "\n";
  }
  return out;
}

}  // namespace zeva::testing
