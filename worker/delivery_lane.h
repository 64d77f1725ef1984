#pragma once
// A delivery lane takes the outbox's due events of one channel and delivers them: the
// RabbitMQ lane (publish_lane) and the e-mail lane (mail_lane) run on threads of their own,
// so that one channel's outage never holds the other back. RunLane is their common loop.

#include <chrono>

#include "worker/wakeup.h"

namespace zeva::worker {

enum class Pass {
  kIdle,    // nothing due (or less than a batch): wait for a NOTIFY or the poll interval
  kFull,    // a full batch was delivered: more may be due, go again at once
  kFailed,  // the channel (or the database) failed: back off
};

class DeliveryLane {
 public:
  virtual ~DeliveryLane() = default;
  // One claim-deliver-record round. Must return promptly once `wakeup.stopping()`, leaving
  // nothing claimed that it did not attempt.
  virtual Pass RunOnce(const Wakeup& wakeup) = 0;
  // Called while idle (e.g. keeps the broker connection's heartbeats going).
  virtual void Idle() {}
};

struct LaneTiming {
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{60000};
};

// Runs `lane` until `wakeup` stops: at once after a full batch, after a NOTIFY or the poll
// interval when idle, after a doubling back-off (RetryDelay) while it keeps failing.
void RunLane(DeliveryLane& lane, Wakeup& wakeup, const LaneTiming& timing);

}  // namespace zeva::worker
