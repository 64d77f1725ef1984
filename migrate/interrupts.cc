#include "migrate/interrupts.h"

#include <signal.h>

#include <pqxx/pqxx>
#include <thread>

#include "db/connection.h"

namespace zeva::migrate {

namespace {

constexpr int kCancelConnectSeconds = 5;

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
  if (watched_pid_ == 0) return;
  auto canceller = db::Connect(watched_url_, "zeva-migrate-cancel", kCancelConnectSeconds);
  if (!canceller.ok()) return;  // the database is gone: the flag alone stops the runner
  try {
    pqxx::nontransaction tx(**canceller);
    tx.exec_params("SELECT pg_cancel_backend($1)", watched_pid_);
  } catch (const std::exception&) {
    // Nothing is running, or the backend is gone: the flag alone stops the runner.
  }
}

bool Interrupts::SleepFor(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return interrupted_.load(); });
}

void Interrupts::Watch(const std::string& url, int backend_pid) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_url_ = url;
  watched_pid_ = backend_pid;
}

}  // namespace zeva::migrate
