#pragma once
// Small pieces both delivery lanes use.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "db/outbox_store.h"
#include "domain/outbox_event.h"

namespace zeva::worker {

// Every database statement of the worker gets this long.
db::Budget DatabaseBudget();

std::vector<std::string> IdsOf(const std::vector<domain::OutboxEvent>& events);

// Seconds from `micros` (since the epoch) to now.
double SecondsSince(int64_t micros);

// A metric label for a failed delivery.
const char* FailureReason(const absl::Status& status);

// Schedules each event's next attempt after its own back-off (by its attempts); a database
// failure here is logged: the lease brings the events back anyway.
void ScheduleRetries(db::OutboxStore& store, db::OutboxChannel channel,
                     const std::vector<domain::OutboxEvent>& events,
                     std::chrono::milliseconds initial, std::chrono::milliseconds max,
                     const std::string& error);

}  // namespace zeva::worker
