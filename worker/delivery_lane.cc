#include "worker/delivery_lane.h"

#include <algorithm>

#include "domain/outbox_event.h"

namespace zeva::worker {

void RunLane(DeliveryLane& lane, Wakeup& wakeup, const LaneTiming& timing) {
  int failures = 0;
  while (!wakeup.stopping()) {
    // Taken before the claim: a NOTIFY for an event committed during the round is not lost.
    const uint64_t seen = wakeup.generation();
    const Pass pass = lane.RunOnce(wakeup);
    if (pass == Pass::kFull) {
      failures = 0;
      continue;
    }
    if (pass == Pass::kFailed) {
      ++failures;
      // Only Stop ends a back-off early: a NOTIFY must not turn it into a tight retry loop.
      const auto delay = domain::RetryDelay(failures, timing.retry_initial, timing.retry_max);
      wakeup.SleepFor(delay);
      continue;
    }
    failures = 0;
    lane.Idle();
    // Idle: at most a poll interval, and often enough to keep heartbeats going.
    wakeup.WaitFor(seen, std::min(timing.poll_interval, std::chrono::milliseconds(5000)));
  }
}

}  // namespace zeva::worker
