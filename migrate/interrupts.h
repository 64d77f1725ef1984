#pragma once
// SIGTERM / SIGINT for the runner: a signal cancels the statement running on the watched
// connection (so its transaction rolls back and the lock is released before exit) and wakes any
// wait. Signals are blocked in every thread and taken by one waiting thread, so no work happens
// in a signal handler.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <pqxx/connection>

namespace zeva::migrate {

class Interrupts {
 public:
  // Blocks SIGTERM and SIGINT and starts the waiting thread. Call once, first thing in main,
  // before any other thread exists.
  static Interrupts& Install();

  bool interrupted() const { return interrupted_.load(); }
  // Sleeps up to `duration`; returns false if interrupted (at once or during the sleep).
  bool SleepFor(std::chrono::milliseconds duration);
  // The connection whose running statement a signal cancels; nullptr for none.
  void Watch(pqxx::connection* connection);

 private:
  Interrupts() = default;
  void OnSignal();

  std::atomic<bool> interrupted_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  pqxx::connection* watched_ = nullptr;
};

}  // namespace zeva::migrate
