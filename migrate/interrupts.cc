#include "migrate/interrupts.h"

#include <signal.h>

#include <thread>

namespace zeva::migrate {

namespace {
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

Interrupts& Interrupts::Install() {
  static Interrupts* instance = [] {
    sigset_t set = StopSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    auto* created = new Interrupts();  // lives for the process: the thread refers to it
    std::thread([created] {
      sigset_t waited = StopSignals();
      int signal_number = 0;
      while (sigwait(&waited, &signal_number) == 0) created->OnSignal();
    }).detach();
    return created;
  }();
  return *instance;
}

void Interrupts::OnSignal() {
  std::lock_guard<std::mutex> lock(mutex_);
  interrupted_ = true;
  wake_.notify_all();
  if (watched_ != nullptr) {
    try {
      watched_->cancel_query();
    } catch (const std::exception&) {
      // Nothing is running, or the connection is gone: the flag alone stops the runner.
    }
  }
}

bool Interrupts::SleepFor(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return interrupted_.load(); });
}

void Interrupts::Watch(pqxx::connection* connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_ = connection;
}

}  // namespace zeva::migrate
