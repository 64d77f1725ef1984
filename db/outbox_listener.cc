#include "db/outbox_listener.h"

#include <pqxx/pqxx>
#include <thread>

#include "db/connection.h"
#include "spdlog/spdlog.h"

namespace zeva::db {

struct OutboxListener::Receiver : pqxx::notification_receiver {
  Receiver(pqxx::connection_base& c, bool* notified)
      : pqxx::notification_receiver(c, kOutboxChannel), notified_(notified) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override {
    *notified_ = true;
  }
  bool* notified_;
};

OutboxListener::OutboxListener(std::string url, int connect_timeout_seconds)
    : url_(std::move(url)), connect_timeout_seconds_(connect_timeout_seconds) {}

OutboxListener::~OutboxListener() {
  receiver_.reset();  // before its connection
  connection_.reset();
}

bool OutboxListener::EnsureConnected() {
  if (connection_ != nullptr) return true;
  auto connection = Connect(url_, "zeva-worker-listen", connect_timeout_seconds_);
  if (!connection.ok()) return false;
  try {
    connection_ = std::move(*connection);
    receiver_ = std::make_unique<Receiver>(*connection_, &notified_);
    // LISTEN is sent by the receiver when the connection is first used; force it now so
    // nothing committed from here on is missed.
    connection_->get_notifs();
    spdlog::info("listening for outbox events on {}", kOutboxChannel);
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("cannot listen for outbox events: {}", e.what());
    receiver_.reset();
    connection_.reset();
    return false;
  }
}

bool OutboxListener::Wait(std::chrono::milliseconds timeout) {
  if (!EnsureConnected()) {
    std::this_thread::sleep_for(timeout);
    return false;
  }
  notified_ = false;
  try {
    const long seconds = static_cast<long>(timeout.count() / 1000);
    const long micros = static_cast<long>((timeout.count() % 1000) * 1000);
    connection_->await_notification(seconds, micros);
    return notified_;
  } catch (const std::exception& e) {
    spdlog::warn("outbox listener lost its connection: {}", e.what());
    receiver_.reset();
    connection_.reset();
    return false;
  }
}

}  // namespace zeva::db
