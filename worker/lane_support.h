#pragma once
// Small pieces both delivery lanes use.

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "db/outbox_store.h"
#include "domain/outbox_event.h"
#include "worker/worker_metrics.h"

namespace zeva::worker {

// Every database statement of the worker gets this long.
db::Budget DatabaseBudget();

std::vector<std::string> IdsOf(const std::vector<domain::OutboxEvent>& events);

// Seconds from `micros` (since the epoch) to now.
double SecondsSince(int64_t micros);

// A metric label for a failed delivery.
const char* FailureReason(const absl::Status& status);

// When a failed event is tried again, and how often at most.
struct RetryPolicy {
  std::chrono::milliseconds initial{500};  // first delay; doubles with each failure
  std::chrono::milliseconds max{60000};    // longest delay
  int max_attempts = 25;                   // then the event is dead-lettered on the channel
};

// Schedules each event's next attempt after its own back-off (by its attempts), or
// dead-letters it when it is out of attempts (counted and logged); a database failure here is
// logged: the lease brings the events back anyway.
void ScheduleRetries(db::OutboxStore& store, WorkerMetrics& metrics, db::OutboxChannel channel,
                     const std::vector<domain::OutboxEvent>& events, const RetryPolicy& policy,
                     const std::string& error);

// Claims due events of `channel`; those that could not be decoded (dead-lettered by the
// claim) are counted and logged here.
absl::StatusOr<std::vector<domain::OutboxEvent>> ClaimDue(db::OutboxStore& store,
                                                          WorkerMetrics& metrics,
                                                          db::OutboxChannel channel, int limit,
                                                          std::chrono::milliseconds lease);

}  // namespace zeva::worker
