#pragma once
// Publishes to RabbitMQ with publisher confirms, through rabbitmq-c (librabbitmq).
//
// One connection and one channel in confirm mode, opened on first use and again after any
// failure (the next call reconnects: a restarted broker needs nothing else). On every
// connect both exchanges are declared exactly as docs/credits.md says (zeva.events: topic,
// durable; notifications: fanout, durable, not auto-delete, no arguments), so that the worker
// may start before or after the frontend's server, which declares the same.
//
// Not thread-safe: one publisher per delivery thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "broker/outbox_messages.h"

namespace zeva::broker {

struct AmqpOptions {
  std::string url;  // amqp://USER:PASSWORD@HOST[:PORT]/[VHOST], or amqps://
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds confirm_timeout{10000};
  int heartbeat_seconds = 30;
};

// What one PublishConfirmed call did, for metrics.
struct PublishOutcome {
  int64_t published = 0;  // messages handed to the broker
  int64_t acked = 0;      // of which confirmed
  int64_t nacked = 0;     // of which refused
  // Messages the broker returned as unroutable (published `mandatory`, no queue bound for
  // them): confirmed, yet received by nobody. By message_id.
  std::vector<std::string> returned;
  // Messages the broker refused (nacked, e.g. by a full queue that rejects publishes), by
  // message_id.
  std::vector<std::string> refused;
};

class AmqpPublisher {
 public:
  explicit AmqpPublisher(AmqpOptions options);
  ~AmqpPublisher();
  AmqpPublisher(const AmqpPublisher&) = delete;
  AmqpPublisher& operator=(const AmqpPublisher&) = delete;

  // Publishes every message persistent and `mandatory`, as application/json with its
  // message_id, then waits for the broker to confirm each. OK when every message was acked;
  // those the broker returned unroutable are listed in `outcome->returned`. Otherwise:
  // UNAVAILABLE (cannot connect, or the connection broke: it is closed, the next call
  // reconnects), DEADLINE_EXCEEDED (confirms did not all arrive in time), INTERNAL (the broker
  // nacked a message; those are listed in `outcome->refused`). Messages are idempotent by
  // message_id, so a failed batch is simply published again later.
  absl::Status PublishConfirmed(const std::vector<OutboundMessage>& messages,
                                PublishOutcome* outcome);
  // Connects if not connected (so an idle worker reports a broker outage), and services the
  // connection's heartbeats while idle. Returns whether the connection is up.
  bool KeepAlive();
  bool connected() const { return connection_ != nullptr; }

 private:
  struct Connection;
  absl::Status Connect();
  void Close();  // graceful: channel.close and connection.close (shutdown)
  void Drop();   // after an error: no handshake, the connection is destroyed

  const AmqpOptions options_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace zeva::broker
