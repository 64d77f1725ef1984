// The blocking pool on which calls wait (also run under TSan: scripts/sanitize.sh tsan).

#include "services/blocking_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/wait_until.h"

using zeva::services::BlockingPool;
using zeva::services::BlockingPoolLimits;

namespace {

// Work that waits until the test opens the gate.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    opened_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    opened_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable opened_;
  bool open_ = false;
};

// Opens the gate when the test ends, passed or not, before the pool joins its threads.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.Open(); }
};

}  // namespace

TEST_CASE("the blocking pool runs every piece of work once, on its own threads",
          "[blocking_pool]") {
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> ran{0};
  std::atomic<int> accepted{0};
  {
    BlockingPool pool(BlockingPoolLimits{2, 2, 256});
    // Submitted from several threads at once, some of it slow, some of it throwing.
    std::vector<std::thread> submitters;
    for (int s = 0; s < 4; ++s) {
      submitters.emplace_back([&, s] {
        for (int i = 0; i < 50; ++i) {
          const bool queued = pool.Run([&, s, i] {
            CHECK(BlockingPool::OnPoolThread());
            {
              std::lock_guard<std::mutex> lock(mu);
              threads.insert(std::this_thread::get_id());
            }
            ++ran;
            if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (s == 0 && i % 7 == 0) throw std::runtime_error("work that fails");
          });
          if (queued) ++accepted;
        }
      });
    }
    for (auto& t : submitters) t.join();
  }                        // the destructor runs what is still queued
  CHECK(accepted == 200);  // 200 at most in flight: below the cap
  CHECK(ran == 200);
  CHECK(threads.count(std::this_thread::get_id()) == 0);
  CHECK_FALSE(BlockingPool::OnPoolThread());
  CHECK(!threads.empty());
}

TEST_CASE(
    "the blocking pool grows to one thread per waiting call, refuses beyond its cap, and "
    "shrinks back to its idle threads",
    "[blocking_pool]") {
  Gate gate;
  BlockingPool pool(BlockingPoolLimits{1, 2, 6});
  const OpenOnExit opener{gate};
  CHECK(pool.Threads() == 1);
  std::atomic<int> waiting{0};
  for (int i = 0; i < 6; ++i) {
    REQUIRE(pool.Run([&] {
      ++waiting;
      gate.Wait();
    }));
  }
  // All six wait at once: one thread each.
  REQUIRE(zeva::testing::WaitUntil([&] { return waiting == 6; }, std::chrono::seconds(10)));
  CHECK(pool.Threads() == 6);
  // The cap is reached: refused, not queued.
  std::atomic<bool> ran_refused{false};
  CHECK_FALSE(pool.Run([&] { ran_refused = true; }));
  gate.Open();
  // Threads above the two idle ones end.
  CHECK(zeva::testing::WaitUntil([&] { return pool.Threads() == 2; }, std::chrono::seconds(10)));
  std::atomic<bool> ran_later{false};
  CHECK(pool.Run([&] { ran_later = true; }));
  CHECK(zeva::testing::WaitUntil([&] { return ran_later.load(); }, std::chrono::seconds(10)));
  CHECK(pool.Threads() == 2);
  CHECK_FALSE(ran_refused);
}

TEST_CASE("a stopped blocking pool runs later work at once, on the caller's thread",
          "[blocking_pool]") {
  BlockingPool pool(BlockingPoolLimits{2, 2, 2});
  std::atomic<bool> slow_done{false};
  REQUIRE(pool.Run([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    slow_done = true;
  }));
  pool.Stop();  // waits for the queued work
  CHECK(slow_done);
  std::thread::id ran_on;
  CHECK(pool.Run([&] { ran_on = std::this_thread::get_id(); }));
  CHECK(ran_on == std::this_thread::get_id());
  pool.Stop();  // again: nothing to do
}
