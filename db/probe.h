#pragma once
// Is PostgreSQL reachable and answering? Asked on a connection of its own, outside the pool,
// so that a busy pool (all connections leased under load) never reads as an outage.
//
// Bounded on the client side: a frozen server (stopped processes, a black-holed address)
// still completes TCP handshakes and acknowledges data in the kernel, so no server-side
// timeout and no socket error ever ends a wait on it. The probe speaks libpq's non-blocking
// API and gives up when its timeout passes, so readiness turns NOT_SERVING in time.

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "db/connection.h"

struct pg_conn;

namespace zeva::db {

class Probe {
 public:
  Probe(std::string url, std::chrono::milliseconds timeout,
        int peer_timeout_ms = kDefaultPeerTimeoutMs)
      : url_(std::move(url)), timeout_(timeout), peer_timeout_ms_(peer_timeout_ms) {}
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Runs `SELECT 1` within the timeout, reconnecting first when needed (a kept connection
  // that fails gets one fresh attempt within the same time). Not thread-safe: one prober.
  absl::Status Check();

 private:
  absl::Status CheckOnce(std::chrono::steady_clock::time_point deadline);
  void Close();

  const std::string url_;
  const std::chrono::milliseconds timeout_;
  const int peer_timeout_ms_;  // see db/connection.h
  pg_conn* connection_ = nullptr;
};

}  // namespace zeva::db
