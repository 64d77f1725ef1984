#pragma once
// A RabbitMQ consumer for tests, like the frontend's: it declares its exchange exactly as the
// service does (so either side may start first), binds a durable queue of its own to it, and
// records every message it receives (acking each one after recording it). It survives broker
// restarts: when the connection drops it reconnects and consumes again. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

struct amqp_connection_state_t_;  // rabbitmq-c's connection (amqp_connection_state_t)

namespace zeva::testing {

struct ReceivedMessage {
  std::string exchange, routing_key, message_id, content_type, body;
  int delivery_mode = 0;                              // 2 = persistent
  std::chrono::system_clock::time_point received_at;  // when the consumer got it
};

// The arguments of a queue declaration, e.g. {"x-max-length", 1}, {"x-overflow",
// "reject-publish"}: integers or strings.
using QueueArguments = std::map<std::string, std::variant<int64_t, std::string>>;

// Declares the durable, non-exclusive, non-auto-delete queue `queue` with `arguments` on
// channel 1 of `connection` (an amqp_connection_state_t). Returns what went wrong, empty on
// success; `ready` (when given) receives the number of messages ready in it.
std::string DeclareQueue(amqp_connection_state_t_* connection, const std::string& queue,
                         const QueueArguments& arguments, uint32_t* ready = nullptr);

class AmqpTestConsumer {
 public:
  // Connects to `url` (amqp://USER:PASSWORD@HOST[:PORT][/VHOST]; an empty virtual host is
  // "/"), declares `exchange` of `exchange_type` durable, not auto-delete, not internal,
  // without arguments; declares the durable, non-exclusive, non-auto-delete queue `queue`,
  // binds it with `binding_key` ("#" for a topic exchange, "" for fanout) and consumes it with
  // manual acks. The queue is declared with `queue_arguments` (as whoever declared it first
  // did: RabbitMQ refuses a declaration with other arguments). Throws std::runtime_error when
  // any of that fails.
  AmqpTestConsumer(std::string url, std::string exchange, std::string exchange_type,
                   std::string queue, std::string binding_key, QueueArguments queue_arguments = {});
  ~AmqpTestConsumer();
  AmqpTestConsumer(const AmqpTestConsumer&) = delete;
  AmqpTestConsumer& operator=(const AmqpTestConsumer&) = delete;

  // Receives until at least `count` messages in all have arrived since construction, or
  // `timeout` passes; reconnects (again and again until the timeout) when the connection is
  // lost. Returns every message received so far, in arrival order.
  std::vector<ReceivedMessage> WaitFor(size_t count, std::chrono::milliseconds timeout);
  // Receives until nothing arrives for `quiet`; returns every message received so far.
  std::vector<ReceivedMessage> Drain(std::chrono::milliseconds quiet);

 private:
  using Clock = std::chrono::steady_clock;
  // One connection attempt: connect, log in, declare, bind, consume. On failure returns
  // false, leaves no connection and keeps the reason in last_error_.
  bool Connect();
  void Disconnect();
  // Waits for one delivery until `deadline`, reconnecting when needed. Returns whether a
  // message was recorded.
  bool ReceiveOne(Clock::time_point deadline);

  std::string url_, exchange_, exchange_type_, queue_, binding_key_;
  QueueArguments queue_arguments_;
  std::string host_, user_, password_, vhost_;
  int port_ = 0;
  amqp_connection_state_t_* connection_ = nullptr;
  std::string last_error_;
  std::vector<ReceivedMessage> messages_;
};

}  // namespace zeva::testing
