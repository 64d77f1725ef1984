#include "broker/amqp_publisher.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <map>

#include "absl/strings/str_cat.h"

namespace zeva::broker {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr int kFrameMax = 131072;
constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

timeval ToTimeval(std::chrono::milliseconds ms) {
  if (ms.count() < 0) ms = std::chrono::milliseconds(0);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

amqp_bytes_t Bytes(const std::string& s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string ReplyText(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD ||
          reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        // Both close methods start with reply_code and reply_text.
        const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return absl::StrCat(
            "broker closed: ", close->reply_code, " ",
            std::string(static_cast<const char*>(close->reply_text.bytes), close->reply_text.len));
      }
      return absl::StrCat("broker exception, method ", reply.reply.id);
  }
  return "unknown reply";
}

}  // namespace

// The rabbitmq-c state and what is needed to follow confirms on it.
struct AmqpPublisher::Connection {
  amqp_connection_state_t state = nullptr;
  uint64_t next_tag = 1;  // delivery tag of the next publish (confirm mode numbers from 1)
  ~Connection() {
    if (state != nullptr) {
      // Best effort: a broker that is gone does not answer, so no close handshake waits.
      amqp_destroy_connection(state);
    }
  }
};

AmqpPublisher::AmqpPublisher(AmqpOptions options) : options_(std::move(options)) {}
AmqpPublisher::~AmqpPublisher() { Close(); }

void AmqpPublisher::Close() {
  if (connection_ != nullptr && connection_->state != nullptr) {
    amqp_channel_close(connection_->state, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(connection_->state, AMQP_REPLY_SUCCESS);
  }
  connection_.reset();
}

void AmqpPublisher::Drop() {
  // After a socket or protocol error no close handshake is attempted: RPCs on a connection
  // rabbitmq-c already considers broken may abort the process. Destroying it closes the socket.
  connection_.reset();
}

absl::Status AmqpPublisher::Connect() {
  // amqp_parse_url writes into its argument and points into it: keep the copy alive.
  std::string url = options_.url;
  amqp_connection_info info{};
  amqp_default_connection_info(&info);
  if (amqp_parse_url(url.data(), &info) != AMQP_STATUS_OK) {
    // Never echo the URL: it holds the password.
    return absl::InvalidArgumentError("RABBITMQ_URL is not a valid amqp:// URL");
  }
  const std::string where = absl::StrCat(info.host, ":", info.port);
  // amqp_parse_url reads "amqp://host/" as the virtual host "", which RabbitMQ does not have;
  // everyone who writes that means the default one.
  const char* vhost = (info.vhost == nullptr || *info.vhost == '\0') ? "/" : info.vhost;
  auto connection = std::make_unique<Connection>();
  connection->state = amqp_new_connection();
  amqp_socket_t* socket = nullptr;
  if (info.ssl) {
    socket = amqp_ssl_socket_new(connection->state);
    if (socket != nullptr) {
      amqp_ssl_socket_set_verify_peer(socket, 1);
      amqp_ssl_socket_set_verify_hostname(socket, 1);
      amqp_ssl_socket_set_cacert(socket, kSystemCaBundle);
    }
  } else {
    socket = amqp_tcp_socket_new(connection->state);
  }
  if (socket == nullptr) return absl::InternalError("cannot create an AMQP socket");
  const timeval connect_timeout = ToTimeval(options_.connect_timeout);
  amqp_set_handshake_timeout(connection->state, &connect_timeout);
  amqp_set_rpc_timeout(connection->state, &connect_timeout);
  if (int rc = amqp_socket_open_noblock(socket, info.host, info.port, &connect_timeout);
      rc != AMQP_STATUS_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to RabbitMQ at ", where, ": ", amqp_error_string2(rc)));
  }
  // A broker that stops reading (a memory alarm blocks publishers) must not hang a publish.
  const timeval send_timeout = ToTimeval(options_.confirm_timeout);
  setsockopt(amqp_get_sockfd(connection->state), SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
             sizeof send_timeout);
  amqp_rpc_reply_t reply =
      amqp_login(connection->state, vhost, 0, kFrameMax, options_.heartbeat_seconds,
                 AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return absl::UnavailableError(
        absl::StrCat("cannot log in to RabbitMQ at ", where, ": ", ReplyText(reply)));
  }
  amqp_channel_open(connection->state, kChannel);
  if (reply = amqp_get_rpc_reply(connection->state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return absl::UnavailableError(absl::StrCat("cannot open a channel: ", ReplyText(reply)));
  }
  struct ExchangeSpec {
    const char* name;
    const char* type;
  };
  for (const ExchangeSpec& exchange :
       {ExchangeSpec{kEventsExchange, "topic"}, ExchangeSpec{kNotificationsExchange, "fanout"}}) {
    amqp_exchange_declare(connection->state, kChannel, amqp_cstring_bytes(exchange.name),
                          amqp_cstring_bytes(exchange.type), /*passive=*/0, /*durable=*/1,
                          /*auto_delete=*/0, /*internal=*/0, amqp_empty_table);
    if (reply = amqp_get_rpc_reply(connection->state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
      // E.g. PRECONDITION_FAILED: someone declared it otherwise. Say so plainly.
      return absl::FailedPreconditionError(
          absl::StrCat("cannot declare exchange ", exchange.name, ": ", ReplyText(reply)));
    }
  }
  amqp_confirm_select(connection->state, kChannel);
  if (reply = amqp_get_rpc_reply(connection->state); reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return absl::UnavailableError(
        absl::StrCat("cannot turn on publisher confirms: ", ReplyText(reply)));
  }
  connection_ = std::move(connection);
  return absl::OkStatus();
}

bool AmqpPublisher::KeepAlive() {
  if (connection_ == nullptr) {
    if (!Connect().ok()) return false;
  }
  // Reading with a zero timeout sends a heartbeat when one is due and notices a closed
  // connection; nothing else is expected on an idle channel.
  amqp_frame_t frame;
  const timeval zero{};
  for (;;) {
    const int rc = amqp_simple_wait_frame_noblock(connection_->state, &frame, &zero);
    if (rc == AMQP_STATUS_TIMEOUT) {
      amqp_maybe_release_buffers(connection_->state);
      return true;
    }
    if (rc != AMQP_STATUS_OK || (frame.frame_type == AMQP_FRAME_METHOD &&
                                 (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
                                  frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD))) {
      Drop();
      return false;
    }
  }
}

absl::Status AmqpPublisher::PublishConfirmed(const std::vector<OutboundMessage>& messages,
                                             PublishOutcome* outcome) {
  if (connection_ == nullptr) {
    if (absl::Status s = Connect(); !s.ok()) {
      connection_.reset();
      return s;
    }
  }
  amqp_connection_state_t state = connection_->state;
  std::map<uint64_t, const std::string*> unconfirmed;  // delivery tag -> message_id
  const std::string content_type = kJsonContentType;
  for (const OutboundMessage& m : messages) {
    amqp_basic_properties_t props{};
    props._flags =
        AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
    props.content_type = Bytes(content_type);
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.message_id = Bytes(m.message_id);
    const int rc = amqp_basic_publish(state, kChannel, Bytes(m.exchange), Bytes(m.routing_key),
                                      /*mandatory=*/1, /*immediate=*/0, &props, Bytes(m.body));
    if (rc != AMQP_STATUS_OK) {
      Drop();
      return absl::UnavailableError(
          absl::StrCat("publishing to RabbitMQ failed: ", amqp_error_string2(rc)));
    }
    unconfirmed.emplace(connection_->next_tag++, &m.message_id);
    ++outcome->published;
  }

  const auto deadline = std::chrono::steady_clock::now() + options_.confirm_timeout;
  bool nacked = false;
  // A basic.return arrives before the message's ack, as a method frame followed by its content
  // header, whose properties carry the message_id.
  bool return_header_next = false;
  while (!unconfirmed.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      // Confirms may still come later, but on a channel we can no longer trust to match them
      // to this batch: start over on a fresh connection.
      Drop();
      return absl::DeadlineExceededError(absl::StrCat(unconfirmed.size(), " of ", messages.size(),
                                                      " messages not confirmed in time"));
    }
    const timeval wait = ToTimeval(left);
    amqp_frame_t frame;
    const int rc = amqp_simple_wait_frame_noblock(state, &frame, &wait);
    if (rc == AMQP_STATUS_TIMEOUT) continue;
    if (rc != AMQP_STATUS_OK) {
      Drop();
      return absl::UnavailableError(
          absl::StrCat("waiting for confirms failed: ", amqp_error_string2(rc)));
    }
    if (frame.frame_type == AMQP_FRAME_HEADER && return_header_next) {
      return_header_next = false;
      const auto* props =
          static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
      if (props != nullptr && (props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) {
        outcome->returned.emplace_back(static_cast<const char*>(props->message_id.bytes),
                                       props->message_id.len);
      }
      continue;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    const amqp_method_number_t id = frame.payload.method.id;
    if (id == AMQP_BASIC_RETURN_METHOD) {
      return_header_next = true;
      continue;
    }
    if (id == AMQP_BASIC_ACK_METHOD || id == AMQP_BASIC_NACK_METHOD) {
      uint64_t tag = 0;
      bool multiple = false;
      if (id == AMQP_BASIC_ACK_METHOD) {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        tag = ack->delivery_tag;
        multiple = ack->multiple != 0;
      } else {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        tag = nack->delivery_tag;
        multiple = nack->multiple != 0;
        nacked = true;
      }
      auto begin = multiple ? unconfirmed.begin() : unconfirmed.find(tag);
      auto end = multiple ? unconfirmed.upper_bound(tag)
                          : (begin == unconfirmed.end() ? begin : std::next(begin));
      const auto count = static_cast<int64_t>(std::distance(begin, end));
      (id == AMQP_BASIC_ACK_METHOD ? outcome->acked : outcome->nacked) += count;
      if (id == AMQP_BASIC_NACK_METHOD) {
        for (auto it = begin; it != end; ++it) outcome->refused.push_back(*it->second);
      }
      unconfirmed.erase(begin, end);
    } else if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
      // The frame lives in the connection's pools, which Drop() frees: copy the reason first.
      const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
      const std::string reason =
          absl::StrCat(close->reply_code, " ",
                       absl::string_view(static_cast<const char*>(close->reply_text.bytes),
                                         close->reply_text.len));
      Drop();
      return absl::UnavailableError(absl::StrCat("RabbitMQ closed the channel: ", reason));
    }
  }
  // Frames (the confirms) are allocated from the connection's pools; with none outstanding
  // now, they are given back, or a long-running worker's memory would only grow.
  amqp_maybe_release_buffers(state);
  if (nacked) {
    return absl::InternalError(absl::StrCat("RabbitMQ refused (nack) ", outcome->nacked, " of ",
                                            messages.size(), " messages"));
  }
  return absl::OkStatus();
}

}  // namespace zeva::broker
