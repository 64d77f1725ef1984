#pragma once
// Is PostgreSQL reachable? Answered on a connection of its own, outside the pool, so that a
// busy pool (all connections leased under load) never reads as an outage.

#include <memory>
#include <pqxx/connection>
#include <string>

#include "absl/status/status.h"

namespace zeva::db {

class Probe {
 public:
  Probe(std::string url, int connect_timeout_seconds)
      : url_(std::move(url)), connect_timeout_seconds_(connect_timeout_seconds) {}
  ~Probe();
  // Runs `SELECT 1`, reconnecting first when needed. Not thread-safe: one prober thread.
  absl::Status Check();

 private:
  static constexpr int kMaxProbeConnectSeconds = 3;
  absl::Status CheckOnce();

  const std::string url_;
  const int connect_timeout_seconds_;
  std::unique_ptr<pqxx::connection> connection_;
};

}  // namespace zeva::db
