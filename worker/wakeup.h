#pragma once
// Wakes the delivery lanes: on a NOTIFY (new events committed), on shutdown, or after their
// own timeout (polling fallback, retry back-off). A generation counter keeps a notification
// that arrives while a lane is busy from being lost: the lane's next wait returns at once.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace zeva::worker {

class Wakeup {
 public:
  void Notify();
  // Shutdown: every wait returns at once, now and later.
  void Stop();
  bool stopping() const;
  uint64_t generation() const;
  // Returns when the generation moved past `seen`, on Stop, or after `timeout`.
  void WaitFor(uint64_t seen, std::chrono::milliseconds timeout);
  // Returns on Stop or after `timeout`; notifications do not end it (back-off).
  void SleepFor(std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace zeva::worker
