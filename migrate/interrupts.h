#pragma once
// SIGTERM / SIGINT for the runner: a signal cancels the statement running on the watched
// connection (so its transaction rolls back and the lock is released before exit) and wakes any
// wait. The cancel goes through a connection of its own (pg_cancel_backend of the watched
// backend, known up front), never through the watched connection, which the main thread is
// using at that moment: libpq connections are not safe to touch from two threads. Signals are
// blocked in every thread and taken by one waiting thread, so no work happens in a signal handler.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace zeva::migrate {

class Interrupts {
 public:
  // Blocks SIGTERM and SIGINT and starts the waiting thread. Call once, first thing in main,
  // before any other thread exists.
  static Interrupts& Install();

  bool interrupted() const { return interrupted_.load(); }
  // Sleeps up to `duration`; returns false if interrupted (at once or during the sleep).
  bool SleepFor(std::chrono::milliseconds duration);
  // The backend (of the database at `url`) whose running statement a signal cancels;
  // pid 0 for none.
  void Watch(const std::string& url, int backend_pid);

 private:
  Interrupts() = default;
  void OnSignal();

  std::atomic<bool> interrupted_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string watched_url_;
  int watched_pid_ = 0;
};

}  // namespace zeva::migrate
