#include "services/blocking_pool.h"

#include <exception>
#include <utility>

#include "spdlog/spdlog.h"

namespace zeva::services {

BlockingPool::BlockingPool(int threads) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Serve(); });
}

BlockingPool::~BlockingPool() { Stop(); }

void BlockingPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void BlockingPool::Run(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(work));
      ready_.notify_one();
      return;
    }
  }
  RunOne(work);
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

void BlockingPool::Serve() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    RunOne(work);
    lock.lock();
  }
}

}  // namespace zeva::services
