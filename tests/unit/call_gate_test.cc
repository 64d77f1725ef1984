// The shutdown gate under concurrent calls (also run under TSan: scripts/sanitize.sh tsan).

#include "services/call_gate.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

using zeva::services::CallGate;

namespace {

std::chrono::system_clock::time_point In(std::chrono::milliseconds delay) {
  return std::chrono::system_clock::now() + delay;
}

}  // namespace

TEST_CASE("calls enter until the gate closes, and closing waits for them", "[call_gate]") {
  CallGate gate;
  std::atomic<int> entered{0}, refused{0};
  std::atomic<bool> started{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!gate.Enter()) {
          ++refused;
          continue;
        }
        ++entered;
        started = true;
        std::this_thread::yield();
        gate.Leave();
      }
    });
  }
  while (!started) std::this_thread::yield();
  CHECK(gate.CloseAndWait(In(std::chrono::seconds(10))) == 0);
  CHECK_FALSE(gate.Enter());
  for (auto& caller : callers) caller.join();
  CHECK(entered + refused == 8 * 2000);
  CHECK(entered > 0);
}

TEST_CASE("closing gives up at the deadline and counts the calls still running", "[call_gate]") {
  CallGate gate;
  REQUIRE(gate.Enter());
  REQUIRE(gate.Enter());
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.Leave();
  });
  CHECK(gate.CloseAndWait(In(std::chrono::milliseconds(500))) == 1);
  finisher.join();
  gate.Leave();
  CHECK(gate.CloseAndWait(In(std::chrono::milliseconds(0))) == 0);
}
