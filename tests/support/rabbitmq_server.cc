#include "tests/support/rabbitmq_server.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace zeva::testing {

namespace {

std::string Script() { return SourceDir() + "/scripts/rabbitmq-throwaway.sh"; }

std::string Trimmed(const std::string& text) {
  const size_t end = text.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

// Runs `rabbitmq-throwaway.sh start DIR` and returns the URL it prints (its last line).
std::string StartNode(const std::string& dir, const std::string& node_name) {
  // Empty port variables make the script pick free ports, whatever the test's environment
  // holds; a later start of the same folder reuses the ports of the first.
  const CommandResult result =
      RunCommand({"bash", Script(), "start", dir}, {{"RABBITMQ_NODENAME", node_name},
                                                    {"RABBITMQ_NODE_PORT", ""},
                                                    {"RABBITMQ_DIST_PORT", ""},
                                                    {"ERL_EPMD_PORT", ""}});
  if (result.exit_code != 0) {
    throw std::runtime_error("RabbitMQ node " + node_name + " did not start:\n" + result.output);
  }
  const std::string out = Trimmed(result.output);
  const std::string url = out.substr(out.find_last_of('\n') + 1);
  if (url.rfind("amqp://", 0) != 0) {
    throw std::runtime_error("unexpected output of rabbitmq-throwaway.sh:\n" + result.output);
  }
  return url;
}

}  // namespace

RabbitMqServer::RabbitMqServer() {
  static std::atomic<int> instances{0};
  const char* base = std::getenv("TMPDIR");
  // A first start can lose a race for its free ports to a node that another test group starts
  // at the same moment (ctest -j), or see epmd refuse it while that node registers: a fresh
  // folder, fresh ports and a fresh node name, up to three times. A broker that never starts
  // still fails the test, with every attempt's log.
  std::string failures;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    node_name_ =
        "zeva-test-" + std::to_string(getpid()) + "-" + std::to_string(++instances) + "@localhost";
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/zeva-rmq-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    try {
      url_ = StartNode(dir_ + "/rmq", node_name_);
      port_ = std::stoi(url_.substr(url_.find_last_of(':') + 1));
      return;
    } catch (const std::exception& e) {
      failures += "attempt " + std::to_string(attempt) + ": " + e.what() + "\n";
      RunCommand({"bash", Script(), "stop", dir_ + "/rmq"});
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }
  throw std::runtime_error("RabbitMQ did not start in three attempts:\n" + failures);
}

RabbitMqServer::~RabbitMqServer() {
  RunCommand({"bash", Script(), "stop", dir_ + "/rmq"});
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void RabbitMqServer::Stop() {
  const CommandResult result = RunCommand({"bash", Script(), "stop", dir_ + "/rmq"});
  if (result.exit_code != 0) {
    throw std::runtime_error("RabbitMQ node " + node_name_ + " did not stop:\n" + result.output);
  }
}

void RabbitMqServer::Start() {
  const std::string url = StartNode(dir_ + "/rmq", node_name_);
  if (url != url_) {
    throw std::runtime_error("RabbitMQ came back at " + url + " instead of " + url_);
  }
}

void RabbitMqServer::Pause() { Signal(SIGSTOP); }

void RabbitMqServer::Resume() { Signal(SIGCONT); }

void RabbitMqServer::Signal(int signal) {
  // The node's Erlang VM, whose pid the script has rabbitmq-server write (RABBITMQ_PID_FILE).
  pid_t pid = 0;
  std::ifstream(dir_ + "/rmq/node.pid") >> pid;
  if (pid <= 0 || kill(pid, signal) != 0) {
    throw std::runtime_error("cannot signal RabbitMQ node " + node_name_ + " (pid " +
                             std::to_string(pid) + ")");
  }
}

}  // namespace zeva::testing
