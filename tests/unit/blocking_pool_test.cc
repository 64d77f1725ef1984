// The blocking pool of callback-API calls (also run under TSan: scripts/sanitize.sh tsan).

#include "services/blocking_pool.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using zeva::services::BlockingPool;

TEST_CASE("the blocking pool runs every piece of work once, on its own threads",
          "[blocking_pool]") {
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> ran{0};
  {
    BlockingPool pool(3);
    // Submitted from several threads at once, some of it slow, some of it throwing.
    std::vector<std::thread> submitters;
    for (int s = 0; s < 4; ++s) {
      submitters.emplace_back([&, s] {
        for (int i = 0; i < 50; ++i) {
          pool.Run([&, s, i] {
            {
              std::lock_guard<std::mutex> lock(mu);
              threads.insert(std::this_thread::get_id());
            }
            ++ran;
            if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (s == 0 && i % 7 == 0) throw std::runtime_error("work that fails");
          });
        }
      });
    }
    for (auto& t : submitters) t.join();
  }  // the destructor runs what is still queued
  CHECK(ran == 200);
  CHECK(threads.count(std::this_thread::get_id()) == 0);
  CHECK(threads.size() <= 3);
  CHECK(!threads.empty());
}

TEST_CASE("a stopped blocking pool runs later work at once, on the caller's thread",
          "[blocking_pool]") {
  BlockingPool pool(2);
  std::atomic<bool> slow_done{false};
  pool.Run([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    slow_done = true;
  });
  pool.Stop();  // waits for the queued work
  CHECK(slow_done);
  std::thread::id ran_on;
  pool.Run([&] { ran_on = std::this_thread::get_id(); });
  CHECK(ran_on == std::this_thread::get_id());
  pool.Stop();  // again: nothing to do
}
