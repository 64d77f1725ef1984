#include "tests/support/amqp_test_consumer.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <utility>
#include <variant>

namespace zeva::testing {

namespace {

using std::chrono::milliseconds;

// How long one connection attempt, and each RPC in it, may take.
constexpr milliseconds kConnectTimeout{5000};
constexpr milliseconds kRpcTimeout{10000};
// The pause between two connection attempts while the broker is away.
constexpr milliseconds kReconnectPause{100};

timeval ToTimeval(std::chrono::steady_clock::duration d) {
  const auto us =
      std::max<int64_t>(1000, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  return tv;
}

std::string Str(amqp_bytes_t bytes) {
  return bytes.len == 0 ? std::string()
                        : std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

amqp_bytes_t Bytes(const std::string& s) {
  amqp_bytes_t bytes;
  bytes.len = s.size();
  bytes.bytes = const_cast<char*>(s.data());
  return bytes;
}

// Empty when `reply` is a success, otherwise what went wrong.
std::string ReplyError(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "";
    case AMQP_RESPONSE_NONE:
      return "no RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return "connection closed by the broker: " + std::to_string(close->reply_code) + " " +
               Str(close->reply_text);
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return "channel closed by the broker: " + std::to_string(close->reply_code) + " " +
               Str(close->reply_text);
      }
      return "unexpected method from the broker: " + std::to_string(reply.reply.id);
  }
  return "unknown RPC reply type";
}

}  // namespace

std::string DeclareQueue(amqp_connection_state_t connection, const std::string& queue,
                         const QueueArguments& arguments, uint32_t* ready) {
  // The table points into `arguments`, which outlives the call.
  std::vector<amqp_table_entry_t> entries;
  entries.reserve(arguments.size());
  for (const auto& [key, value] : arguments) {
    amqp_table_entry_t entry{};
    entry.key = Bytes(key);
    if (const auto* number = std::get_if<int64_t>(&value)) {
      entry.value.kind = AMQP_FIELD_KIND_I64;
      entry.value.value.i64 = *number;
    } else {
      entry.value.kind = AMQP_FIELD_KIND_UTF8;
      entry.value.value.bytes = Bytes(std::get<std::string>(value));
    }
    entries.push_back(entry);
  }
  const amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
  const amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(connection, 1, Bytes(queue), /*passive=*/0, /*durable=*/1,
                         /*exclusive=*/0, /*auto_delete=*/0, table);
  if (ok != nullptr && ready != nullptr) *ready = ok->message_count;
  return ReplyError(amqp_get_rpc_reply(connection));
}

AmqpTestConsumer::AmqpTestConsumer(std::string url, std::string exchange, std::string exchange_type,
                                   std::string queue, std::string binding_key,
                                   QueueArguments queue_arguments)
    : url_(std::move(url)),
      exchange_(std::move(exchange)),
      exchange_type_(std::move(exchange_type)),
      queue_(std::move(queue)),
      binding_key_(std::move(binding_key)),
      queue_arguments_(std::move(queue_arguments)) {
  std::string buffer = url_;  // amqp_parse_url cuts its argument into pieces
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    throw std::runtime_error("AmqpTestConsumer: invalid AMQP URL " + url_);
  }
  if (info.ssl) throw std::runtime_error("AmqpTestConsumer: amqps is not supported: " + url_);
  host_ = info.host;
  port_ = info.port;
  user_ = info.user;
  password_ = info.password;
  vhost_ = *info.vhost != '\0' ? info.vhost : "/";
  if (!Connect()) {
    throw std::runtime_error("AmqpTestConsumer: cannot consume queue " + queue_ + " at " + host_ +
                             ":" + std::to_string(port_) + ": " + last_error_);
  }
}

AmqpTestConsumer::~AmqpTestConsumer() {
  if (connection_ == nullptr) return;
  // A polite goodbye (bounded by the RPC timeout), then the socket is closed regardless.
  amqp_channel_close(connection_, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(connection_, AMQP_REPLY_SUCCESS);
  Disconnect();
}

bool AmqpTestConsumer::Connect() {
  Disconnect();
  connection_ = amqp_new_connection();
  if (connection_ == nullptr) {
    last_error_ = "amqp_new_connection failed";
    return false;
  }
  amqp_socket_t* socket = amqp_tcp_socket_new(connection_);
  if (socket == nullptr) {
    last_error_ = "amqp_tcp_socket_new failed";
    Disconnect();
    return false;
  }
  const timeval connect_timeout = ToTimeval(kConnectTimeout);
  const timeval rpc_timeout = ToTimeval(kRpcTimeout);
  const int status = amqp_socket_open_noblock(socket, host_.c_str(), port_, &connect_timeout);
  if (status != AMQP_STATUS_OK) {
    last_error_ = std::string("cannot connect: ") + amqp_error_string2(status);
    Disconnect();
    return false;
  }
  amqp_set_handshake_timeout(connection_, &rpc_timeout);
  amqp_set_rpc_timeout(connection_, &rpc_timeout);
  // No heartbeats: the test thread does not read between two calls, and an idle connection
  // must not be closed by the broker meanwhile.
  auto step = [this](const char* what, const amqp_rpc_reply_t& reply) {
    const std::string error = ReplyError(reply);
    if (error.empty()) return true;
    last_error_ = std::string(what) + ": " + error;
    Disconnect();
    return false;
  };
  if (!step("login", amqp_login(connection_, vhost_.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                                user_.c_str(), password_.c_str()))) {
    return false;
  }
  amqp_channel_open(connection_, 1);
  if (!step("channel.open", amqp_get_rpc_reply(connection_))) return false;
  amqp_exchange_declare(connection_, 1, Bytes(exchange_), Bytes(exchange_type_),
                        /*passive=*/0, /*durable=*/1, /*auto_delete=*/0, /*internal=*/0,
                        amqp_empty_table);
  if (!step(("exchange.declare " + exchange_).c_str(), amqp_get_rpc_reply(connection_))) {
    return false;
  }
  if (std::string error = DeclareQueue(connection_, queue_, queue_arguments_); !error.empty()) {
    last_error_ = "queue.declare " + queue_ + ": " + error;
    Disconnect();
    return false;
  }
  amqp_queue_bind(connection_, 1, Bytes(queue_), Bytes(exchange_), Bytes(binding_key_),
                  amqp_empty_table);
  if (!step("queue.bind", amqp_get_rpc_reply(connection_))) return false;
  amqp_basic_qos(connection_, 1, 0, /*prefetch_count=*/100, /*global=*/0);
  if (!step("basic.qos", amqp_get_rpc_reply(connection_))) return false;
  amqp_basic_consume(connection_, 1, Bytes(queue_), amqp_empty_bytes, /*no_local=*/0,
                     /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
  return step("basic.consume", amqp_get_rpc_reply(connection_));
}

void AmqpTestConsumer::Disconnect() {
  if (connection_ == nullptr) return;
  amqp_destroy_connection(connection_);  // closes the socket
  connection_ = nullptr;
}

bool AmqpTestConsumer::ReceiveOne(Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    if (connection_ == nullptr && !Connect()) {
      // The broker is away (e.g. restarting): try again shortly.
      std::this_thread::sleep_for(
          std::min<Clock::duration>(kReconnectPause, deadline - Clock::now()));
      continue;
    }
    amqp_maybe_release_buffers(connection_);
    const timeval timeout = ToTimeval(deadline - Clock::now());
    amqp_envelope_t envelope;
    amqp_rpc_reply_t reply = amqp_consume_message(connection_, &envelope, &timeout, 0);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
      ReceivedMessage message;
      message.received_at = std::chrono::system_clock::now();
      message.exchange = Str(envelope.exchange);
      message.routing_key = Str(envelope.routing_key);
      const amqp_basic_properties_t& properties = envelope.message.properties;
      if (properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        message.message_id = Str(properties.message_id);
      }
      if (properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) {
        message.content_type = Str(properties.content_type);
      }
      if (properties._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) {
        message.delivery_mode = properties.delivery_mode;
      }
      message.body = Str(envelope.message.body);
      const amqp_channel_t channel = envelope.channel;
      const uint64_t delivery_tag = envelope.delivery_tag;
      amqp_destroy_envelope(&envelope);
      messages_.push_back(std::move(message));
      if (amqp_basic_ack(connection_, channel, delivery_tag, /*multiple=*/0) != AMQP_STATUS_OK) {
        // The broker delivers it again after the reconnection (at least once).
        last_error_ = "basic.ack failed";
        Disconnect();
      }
      return true;
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_TIMEOUT) {
      continue;  // the deadline decides
    }
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      // Something other than a delivery arrived: read it (as rabbitmq-c's examples do).
      amqp_frame_t frame;
      const timeval frame_timeout = ToTimeval(kRpcTimeout);
      if (amqp_simple_wait_frame_noblock(connection_, &frame, &frame_timeout) != AMQP_STATUS_OK) {
        last_error_ = "cannot read a frame";
        Disconnect();
        continue;
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD:
          break;  // a publisher confirm: not ours
        case AMQP_BASIC_RETURN_METHOD: {
          amqp_message_t returned;
          if (amqp_read_message(connection_, frame.channel, &returned, 0).reply_type ==
              AMQP_RESPONSE_NORMAL) {
            amqp_destroy_message(&returned);
          } else {
            Disconnect();
          }
          break;
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
          // The broker is shutting down (or closed us): say goodbye, reconnect later.
          amqp_connection_close_ok_t close_ok{};
          amqp_send_method(connection_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
          last_error_ = "connection closed by the broker";
          Disconnect();
          break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD: {
          amqp_channel_close_ok_t close_ok{};
          amqp_send_method(connection_, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
          last_error_ = "channel closed by the broker";
          Disconnect();
          break;
        }
        default:  // e.g. basic.cancel: the queue is gone; consume again from scratch
          last_error_ = "unexpected method " + std::to_string(frame.payload.method.id);
          Disconnect();
          break;
      }
      continue;
    }
    last_error_ = ReplyError(reply);  // the connection is lost
    Disconnect();
  }
  return false;
}

std::vector<ReceivedMessage> AmqpTestConsumer::WaitFor(size_t count, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (messages_.size() < count && ReceiveOne(deadline)) {
  }
  return messages_;
}

std::vector<ReceivedMessage> AmqpTestConsumer::Drain(milliseconds quiet) {
  while (ReceiveOne(Clock::now() + quiet)) {
  }
  return messages_;
}

}  // namespace zeva::testing
