#include "worker/publish_lane.h"

#include <set>

#include "spdlog/spdlog.h"
#include "worker/lane_support.h"

namespace zeva::worker {

PublishLane::PublishLane(db::OutboxStore& store, broker::AmqpPublisher& publisher,
                         WorkerMetrics& metrics, PublishLaneOptions options)
    : store_(store), publisher_(publisher), metrics_(metrics), options_(options) {}

void PublishLane::Idle() {
  broker_ok_ = publisher_.KeepAlive();
  metrics_.SetBrokerConnected(broker_ok_);
}

namespace {

// Moves the events with a message among `message_ids` ("<event id>" or "<event id>.<user>")
// out of `events`, and returns them.
std::vector<domain::OutboxEvent> TakeEvents(std::vector<domain::OutboxEvent>& events,
                                            const std::vector<std::string>& message_ids) {
  std::set<std::string> ids;
  for (const std::string& message_id : message_ids) {
    ids.insert(message_id.substr(0, message_id.find('.')));
  }
  std::vector<domain::OutboxEvent> taken, kept;
  for (domain::OutboxEvent& event : events) {
    (ids.count(event.id) > 0 ? taken : kept).push_back(std::move(event));
  }
  events = std::move(kept);
  return taken;
}

}  // namespace

Pass PublishLane::RunOnce(const Wakeup& wakeup) {
  constexpr auto kChannel = db::OutboxChannel::kPublish;
  const char* channel = db::OutboxChannelName(kChannel);
  if (wakeup.stopping()) return Pass::kIdle;
  // No claim while the broker is unreachable: events stay due for a worker that can deliver
  // them, and their attempts are not spent on an outage.
  if (!publisher_.KeepAlive()) {
    broker_ok_ = false;
    metrics_.SetBrokerConnected(false);
    metrics_.DeliveryFailed(channel, "broker_unavailable");
    spdlog::warn("RabbitMQ unavailable; retrying with back-off");
    return Pass::kFailed;
  }
  broker_ok_ = true;
  metrics_.SetBrokerConnected(true);

  auto events = ClaimDue(store_, metrics_, kChannel, options_.batch_size, options_.lease);
  database_ok_ = events.ok();
  if (!events.ok()) {
    metrics_.DeliveryFailed(channel, "database");
    spdlog::warn("cannot claim outbox events: {}", events.status().ToString());
    return Pass::kFailed;
  }
  if (events->empty()) return Pass::kIdle;

  std::vector<broker::OutboundMessage> messages;
  for (const domain::OutboxEvent& event : *events) {
    for (auto& m : broker::MessagesOf(event)) messages.push_back(std::move(m));
  }
  broker::PublishOutcome outcome;
  const absl::Status published = publisher_.PublishConfirmed(messages, &outcome);
  metrics_.AddPublished(static_cast<double>(outcome.published));
  metrics_.AddConfirms(static_cast<double>(outcome.acked), static_cast<double>(outcome.nacked));
  broker_ok_ = publisher_.connected();
  metrics_.SetBrokerConnected(broker_ok_);
  // INTERNAL with refused messages: every message was confirmed, some of them nacked.
  const bool some_refused =
      published.code() == absl::StatusCode::kInternal && !outcome.refused.empty();
  if (!published.ok() && !some_refused) {
    metrics_.DeliveryFailed(channel, FailureReason(published));
    spdlog::warn("publishing {} events ({} messages) failed: {}", events->size(), messages.size(),
                 published.ToString());
    ScheduleRetries(store_, metrics_, kChannel, *events, options_.retry,
                    std::string(published.message()));
    return Pass::kFailed;
  }

  // Confirmed, but an event with a returned message reached nobody there, and one with a
  // refused (nacked) message not everyone: each is retried on its own (the messages that did
  // get through are sent again with the same message_id, deduplicated); the rest of the
  // batch is delivered.
  const std::vector<domain::OutboxEvent> unroutable = TakeEvents(*events, outcome.returned);
  if (!unroutable.empty()) {
    metrics_.DeliveryFailed(channel, "unroutable");
    spdlog::warn(
        "{} events had messages RabbitMQ could not route (no queue bound for them); retrying "
        "them with back-off",
        unroutable.size());
    ScheduleRetries(store_, metrics_, kChannel, unroutable, options_.retry,
                    "unroutable: no queue bound for a message of this event");
  }
  const std::vector<domain::OutboxEvent> refused = TakeEvents(*events, outcome.refused);
  if (!refused.empty()) {
    metrics_.DeliveryFailed(channel, "nacked");
    spdlog::warn("{} events had messages RabbitMQ refused ({}); retrying them with back-off",
                 refused.size(), std::string(published.message()));
    ScheduleRetries(store_, metrics_, kChannel, refused, options_.retry,
                    std::string(published.message()));
  }

  if (absl::Status s =
          store_.MarkDelivered(kChannel, IdsOf(*events), options_.mail_disabled, DatabaseBudget());
      !s.ok()) {
    // Published but not recorded: they are published again after the lease, with the same
    // ids, which consumers deduplicate.
    database_ok_ = false;
    metrics_.DeliveryFailed(channel, "database");
    spdlog::warn("{} events published but not recorded (they will be published again): {}",
                 events->size(), s.ToString());
    return Pass::kFailed;
  }
  metrics_.EventsDelivered(channel, static_cast<double>(events->size()));
  for (const domain::OutboxEvent& event : *events) {
    const double latency = SecondsSince(event.occurred_micros);
    metrics_.ObserveLatency(channel, latency);
    spdlog::info(
        "delivered event {} {} to RabbitMQ: {} messages, attempt {}, {:.0f} ms after "
        "its transaction",
        event.id, event.event_type, 1 + event.recipients.size(), event.attempts, latency * 1000);
  }
  if (!unroutable.empty() || !refused.empty()) return Pass::kFailed;
  return static_cast<int>(events->size()) >= options_.batch_size ? Pass::kFull : Pass::kIdle;
}

}  // namespace zeva::worker
