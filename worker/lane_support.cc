#include "worker/lane_support.h"

#include <chrono>

#include "spdlog/spdlog.h"

namespace zeva::worker {

db::Budget DatabaseBudget() { return db::Budget{db::Clock::now() + std::chrono::seconds(30), ""}; }

std::vector<std::string> IdsOf(const std::vector<domain::OutboxEvent>& events) {
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

double SecondsSince(int64_t micros) {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return static_cast<double>(now - micros) / 1e6;
}

const char* FailureReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kInvalidArgument:
      return "refused";
    case absl::StatusCode::kFailedPrecondition:
      return "misconfigured";
    default:
      return "error";
  }
}

void ScheduleRetries(db::OutboxStore& store, db::OutboxChannel channel,
                     const std::vector<domain::OutboxEvent>& events,
                     std::chrono::milliseconds initial, std::chrono::milliseconds max,
                     const std::string& error) {
  std::vector<db::OutboxRetry> retries;
  retries.reserve(events.size());
  for (const auto& e : events) {
    retries.push_back(db::OutboxRetry{e.id, domain::RetryDelay(e.attempts, initial, max)});
  }
  if (absl::Status s = store.ScheduleRetries(channel, retries, error, DatabaseBudget()); !s.ok()) {
    spdlog::warn("cannot schedule retries of {} events: {}", events.size(), s.ToString());
  }
}

}  // namespace zeva::worker
