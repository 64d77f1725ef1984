#pragma once
// Threads for the blocking part of callback-API calls. gRPC runs callback handlers on a few
// threads of its own (two on a two-core machine) that also answer health checks: a handler
// that waited there for the database would stall every callback call and the health service
// with it. So whatever may wait (a user lookup, a database read) is handed here instead.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace zeva::services {

class BlockingPool {
 public:
  explicit BlockingPool(int threads);
  ~BlockingPool();  // Stop()
  // Runs what is queued and joins the threads; later work runs at once on the caller's thread.
  void Stop();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `work` on one of the pool's threads, in arrival order (after Stop, on this thread).
  // Exceptions are logged.
  void Run(std::function<void()> work);

 private:
  void Serve();
  static void RunOne(const std::function<void()>& work);

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace zeva::services
