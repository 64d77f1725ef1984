#pragma once
// One event of the transactional outbox as the worker delivers it (docs/credits.md,
// "Notifications and events"), and the retry rule of its deliveries. Pure: no I/O.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace zeva::domain {

struct OutboxEvent {
  std::string id;               // UUID: message_id on RabbitMQ, consumers deduplicate by it
  int64_t seq = 0;              // commit-independent order of writing
  std::string event_type;       // also the routing key on zeva.events
  std::string occurred_at;      // RFC 3339, UTC
  int64_t occurred_micros = 0;  // the same, for measuring delivery latency
  std::string actor;
  int64_t transfer_id = 0;           // 0: none
  int64_t journal_id = 0;            // 0: none
  int64_t icbc_import_id = 0;        // 0: none
  int64_t application_id = 0;        // 0: none
  int64_t model_year_report_id = 0;  // 0: none
  std::vector<int64_t> organization_ids;
  std::vector<std::string> recipients;  // usernames
  int attempts = 0;                     // of the channel being delivered, this one included
};

// Delay before the next attempt after `attempts` failed ones: `initial` doubled per further
// failure, never above `max`.
std::chrono::milliseconds RetryDelay(int attempts, std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max);

}  // namespace zeva::domain
