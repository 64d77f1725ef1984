#include "worker/wakeup.h"

namespace zeva::worker {

void Wakeup::Notify() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
  }
  changed_.notify_all();
}

void Wakeup::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
}

bool Wakeup::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

uint64_t Wakeup::generation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

void Wakeup::WaitFor(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return stopping_ || generation_ != seen; });
}

void Wakeup::SleepFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return stopping_; });
}

}  // namespace zeva::worker
