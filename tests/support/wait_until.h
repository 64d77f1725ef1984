#pragma once
// Waiting on a condition with a deadline, instead of sleeping for a guessed time: the wait
// ends as soon as the condition holds, and the deadline (generous: the machines are shared
// and loaded) only bounds a failure.

#include <chrono>
#include <thread>

namespace zeva::testing {

// Evaluates `condition` every `poll` until it returns true or `timeout` has passed; returns
// its last answer (evaluated once more at the deadline, so a condition that holds just then
// counts).
template <typename Condition>
bool WaitUntil(Condition&& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return condition();
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(poll, deadline - now));
  }
  return true;
}

}  // namespace zeva::testing
