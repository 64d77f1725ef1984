#pragma once
// A TCP proxy for tests: listens on a free loopback port and forwards every connection to
// `target_port` on 127.0.0.1, a thread pair per connection. FreezeOpenConnections() makes
// the connections open at that moment half-open, as when the peer's host vanished without
// closing anything: the proxy stops reading and writing them, keeps both sockets open, and
// its kernel stops acknowledging what arrives on them (a socket filter drops every incoming
// segment, keepalive probes included), so that only the other side's own timeouts
// (keepalives, tcp_user_timeout) can tell. Connections made afterwards are forwarded as usual
// (the way back, like a failed-over address that answers again), to the target of the moment
// (Retarget).

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace zeva::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();  // closes every connection
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Freezes the connections open now; returns how many.
  int FreezeOpenConnections();
  // Connections accepted from now on go to `target_port` (those open stay where they are): an
  // address that moved to a new primary while the old one still runs.
  void Retarget(int target_port) { target_port_ = target_port; }
  // Connections accepted so far.
  int accepted() const { return accepted_.load(); }

 private:
  struct Link;
  void Accept();

  std::atomic<int> target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<Link>> links_;
  std::thread acceptor_;
};

}  // namespace zeva::testing
