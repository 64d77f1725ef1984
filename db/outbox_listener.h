#pragma once
// Wakes workers when an outbox event commits: a dedicated connection that LISTENs on
// zeva_outbox (migration 0012's trigger NOTIFYs there on commit). A lost connection is
// reopened on the next wait; notifications missed meanwhile are covered by the workers'
// polling. libpqxx exceptions stop here.

#include <chrono>
#include <memory>
#include <pqxx/connection>
#include <string>

namespace zeva::db {

inline constexpr char kOutboxChannel[] = "zeva_outbox";

class OutboxListener {
 public:
  OutboxListener(std::string url, int connect_timeout_seconds);
  ~OutboxListener();
  OutboxListener(const OutboxListener&) = delete;
  OutboxListener& operator=(const OutboxListener&) = delete;

  // Waits up to `timeout` for a notification; true when one (or more) arrived. Never throws:
  // with the database away it sleeps out the timeout and reports false.
  bool Wait(std::chrono::milliseconds timeout);
  bool connected() const { return connection_ != nullptr; }

 private:
  struct Receiver;
  bool EnsureConnected();

  const std::string url_;
  const int connect_timeout_seconds_;
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<Receiver> receiver_;
  bool notified_ = false;
};

}  // namespace zeva::db
