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

void ScheduleRetries(db::OutboxStore& store, WorkerMetrics& metrics, db::OutboxChannel channel,
                     const std::vector<domain::OutboxEvent>& events, const RetryPolicy& policy,
                     const std::string& error) {
  std::vector<db::OutboxRetry> retries;
  retries.reserve(events.size());
  for (const auto& e : events) {
    retries.push_back(db::OutboxRetry{
        e.id, domain::RetryDelay(e.attempts, policy.initial, policy.max), e.attempts});
  }
  auto dead = store.ScheduleRetries(channel, retries, error, policy.max_attempts, DatabaseBudget());
  if (!dead.ok()) {
    spdlog::warn("cannot schedule retries of {} events: {}", events.size(),
                 dead.status().ToString());
    return;
  }
  const char* name = db::OutboxChannelName(channel);
  for (const std::string& id : *dead) {
    metrics.DeadLettered(name, "attempts");
    spdlog::error(
        "event {} dead-lettered on channel {} after {} failed attempts (last: {}); it is no "
        "longer tried there until an operator re-queues it",
        id, name, policy.max_attempts, error);
  }
}

absl::StatusOr<std::vector<domain::OutboxEvent>> ClaimDue(db::OutboxStore& store,
                                                          WorkerMetrics& metrics,
                                                          db::OutboxChannel channel, int limit,
                                                          std::chrono::milliseconds lease) {
  auto claim = store.Claim(channel, limit, lease, DatabaseBudget());
  if (!claim.ok()) return claim.status();
  const char* name = db::OutboxChannelName(channel);
  for (const db::DeadLetter& dead : claim->undecodable) {
    metrics.DeadLettered(name, "undecodable");
    spdlog::error("event {} dead-lettered on channel {}: {}", dead.event_id, name, dead.error);
  }
  return std::move(claim->events);
}

}  // namespace zeva::worker
