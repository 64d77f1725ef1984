#include "runtime/shutdown.h"

#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "spdlog/spdlog.h"

namespace zeva::runtime {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return strsignal(signal_number);
}

void ExitAfter(std::chrono::seconds delay, std::string message) {
  std::thread([delay, message = std::move(message)] {
    std::this_thread::sleep_for(delay);
    spdlog::error("{}", message);
    spdlog::default_logger()->flush();
    std::_Exit(1);
  }).detach();
}

}  // namespace zeva::runtime
