#include "services/blocking_pool.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "spdlog/spdlog.h"

namespace zeva::services {
namespace {

thread_local bool on_pool_thread = false;

}  // namespace

BlockingPool::BlockingPool(BlockingPoolLimits limits) : limits_(limits) {
  std::lock_guard<std::mutex> lock(mu_);
  const int started = std::min(limits_.started, limits_.max_threads);
  for (int i = 0; i < started; ++i) StartThreadLocked();
}

BlockingPool::~BlockingPool() { Stop(); }

void BlockingPool::Stop() {
  std::list<std::thread> live;
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    live.swap(live_);
    ended.swap(ended_);
  }
  ready_.notify_all();
  for (std::thread& thread : live) thread.join();
  for (std::thread& thread : ended) thread.join();
}

bool BlockingPool::OnPoolThread() { return on_pool_thread; }

int BlockingPool::Threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(live_.size());
}

int BlockingPool::Busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(live_.size()) - idle_;
}

void BlockingPool::StartThreadLocked() {
  // The thread takes mu_ before it looks at its handle, which is set before mu_ is released.
  live_.emplace_back();
  ++idle_;  // idle from now on, not from when it first waits: Run counts it at once
  const Handle self = std::prev(live_.end());
  *self = std::thread([this, self] { Serve(self); });
}

bool BlockingPool::Run(std::function<void()> work) {
  std::vector<std::thread> ended;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      RunOne(work);  // stopped: here and now
      return true;
    }
    if (idle_ <= static_cast<int>(queue_.size())) {
      // No idle thread left for this work: start one, unless the cap is reached.
      if (static_cast<int>(live_.size()) >= limits_.max_threads) return false;
      StartThreadLocked();
    }
    queue_.push_back(std::move(work));
    ready_.notify_one();
    ended.swap(ended_);
  }
  for (std::thread& thread : ended) thread.join();  // they have left Serve already
  return true;
}

void BlockingPool::RunOne(const std::function<void()>& work) {
  try {
    work();
  } catch (const std::exception& e) {
    spdlog::error("blocking work failed: {}", e.what());
  } catch (...) {
    spdlog::error("blocking work failed");
  }
}

void BlockingPool::Serve(Handle self) {
  on_pool_thread = true;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run: Stop joins this thread
    --idle_;
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    RunOne(work);
    work = nullptr;  // what it holds is released outside the lock
    lock.lock();
    if (!stopping_ && queue_.empty() && idle_ >= limits_.max_idle) break;
    ++idle_;
  }
  // Enough threads wait already: this one ends, and a later Run (or Stop) joins it.
  ended_.push_back(std::move(*self));
  live_.erase(self);
}

}  // namespace zeva::services
