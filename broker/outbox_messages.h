#pragma once
// The messages an outbox event becomes on RabbitMQ (docs/credits.md, "Notifications and
// events"). Pure: no I/O, unit-tested.

#include <string>
#include <vector>

#include "domain/outbox_event.h"

namespace zeva::broker {

inline constexpr char kEventsExchange[] = "zeva.events";           // topic, durable
inline constexpr char kNotificationsExchange[] = "notifications";  // fanout, durable
inline constexpr char kJsonContentType[] = "application/json";

struct OutboundMessage {
  std::string exchange;
  std::string routing_key;
  // Distinct per message, so that a consumer deduplicating by it keeps every one: the event's
  // UUID on zeva.events, "<event UUID>.<username>" on notifications.
  std::string message_id;
  std::string body;      // JSON
  std::string event_id;  // the event it belongs to (not sent)
};

// One message on zeva.events (routing key = event type), then one per recipient on
// notifications, in that order.
std::vector<OutboundMessage> MessagesOf(const domain::OutboxEvent& event);

}  // namespace zeva::broker
