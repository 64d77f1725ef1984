#pragma once
// The threads on which calls wait. Every contract method uses gRPC's callback API, whose
// handlers run on a few threads of gRPC's own (two on a two-core machine) that also answer
// health checks: a handler that waited there for the database would stall every call and the
// health service with it. So whatever may wait (a user lookup, a database statement, a client
// that reads a stream slowly) runs here instead.
//
// The pool grows with the calls in flight, one thread each, up to a cap, and shrinks back to
// a number of idle threads, as gRPC's synchronous server did (same settings: --max-threads,
// --min-pollers, --max-pollers). A call that finds every thread of the cap busy is refused
// (the caller answers RESOURCE_EXHAUSTED) rather than queued without bound.

#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace zeva::services {

struct BlockingPoolLimits {
  int started = 1;      // threads started at once
  int max_idle = 1;     // a thread that finds this many idle already ends
  int max_threads = 1;  // threads at most (busy and idle)
};

class BlockingPool {
 public:
  explicit BlockingPool(BlockingPoolLimits limits);
  ~BlockingPool();  // Stop()
  // Runs what is queued and joins the threads; later work runs at once on the caller's thread.
  void Stop();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `work` on one of the pool's threads (after Stop, on this thread), starting a thread
  // when none is idle. False, and `work` dropped, when max_threads are busy. Exceptions are
  // logged.
  [[nodiscard]] bool Run(std::function<void()> work);

  // Whether the calling thread is one of a pool's (work there may wait without a hand-over).
  static bool OnPoolThread();

  // Threads alive now (busy and idle), and those running work, for tests and metrics.
  int Threads() const;
  int Busy() const;

 private:
  using Handle = std::list<std::thread>::iterator;
  void StartThreadLocked();
  void Serve(Handle self);
  static void RunOne(const std::function<void()>& work);

  const BlockingPoolLimits limits_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  int idle_ = 0;  // threads waiting for work
  bool stopping_ = false;
  std::list<std::thread> live_;
  std::vector<std::thread> ended_;  // threads that left on their own, joined by a later Run
};

}  // namespace zeva::services
