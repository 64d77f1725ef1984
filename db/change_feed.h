#pragma once
// Changes PostgreSQL announces on commit (NOTIFY), heard on a LISTEN connection of their own,
// and a barrier that says when every change committed before a moment has been heard.
//
// A thread owns the connection, LISTENs on every channel given, and hands each notification
// (channel, payload) to `on_change` as it arrives. CatchUp() is what lets a cache fed by it never
// be stale: it returns true once a query sent on the LISTEN connection *after* CatchUp began has
// been answered. PostgreSQL sends a session its pending notifications before it reports a query
// done, and it signals the listeners before it acknowledges a writer's COMMIT; so every change
// whose commit was acknowledged before CatchUp began has reached `on_change` when CatchUp returns
// true. Concurrent callers share one round trip.
//
// CatchUpThen is the same barrier for a caller that must not park a thread on it (gRPC's
// callback API): its continuation runs on the feed's thread once the barrier is answered, or on
// a sweeper thread when no answer came by the deadline (a hung database), so that it always runs
// exactly once (unless the feed is destroyed first: then it is dropped). A continuation must
// not block: whatever needs the database goes elsewhere.
//
// A lost connection is reopened after `reconnect_delay`; `on_reset` runs once it listens
// again and before CatchUp can succeed, since notifications may have been missed meanwhile.
// Each connection also reads which server it reached (system identifier and timeline): when
// they differ from the previous connection's (a failover, or a fresh database behind the same
// URL) nothing announced before can be trusted either; it is logged and counted
// (Stats::server_changes), and `on_reset` drops everything as on every reconnect.
// Without a connection CatchUp returns false at once (the caller reads the database).
// libpqxx exceptions stop here.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <thread>
#include <vector>

#include "db/connection.h"

namespace zeva::db {

class ChangeFeed {
 public:
  struct Options {
    std::string url;
    std::vector<std::string> channels;
    std::string application_name;
    int connect_timeout_seconds = 5;
    std::chrono::milliseconds reconnect_delay{1000};
    // The longest CatchUp waits for its round trip before it gives up (returns false).
    std::chrono::milliseconds max_wait{1000};
    // How soon a half-open connection fails (db/connection.h, kDefaultPeerTimeoutMs).
    int peer_timeout_ms = kDefaultPeerTimeoutMs;
  };
  using OnChange = std::function<void(const std::string& channel, const std::string& payload)>;
  using OnReset = std::function<void()>;

  struct Stats {
    int64_t round_trips = 0;     // barriers answered
    int64_t connects = 0;        // LISTEN connections opened (the first included)
    int64_t server_changes = 0;  // reconnects that reached another server (or timeline)
  };

  // Starts the thread, which connects in the background.
  ChangeFeed(Options options, OnChange on_change, OnReset on_reset);
  ~ChangeFeed();  // stops the thread and closes the connection
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // True when every change committed before this call has been handed to `on_change`; false
  // when that cannot be said by `deadline` (or max_wait): no connection, or no answer.
  bool CatchUp(std::chrono::system_clock::time_point deadline);
  // Connect attempts are capped at this (libpq's smallest): the destructor joins the thread,
  // which may be in one, so that shutdown never waits for a long timeout.
  static constexpr int kMaxConnectTimeoutSeconds = 2;
  // The same proof, handed to `then` (true) instead of awaited; false to `then` when it cannot
  // be had by `deadline` (or max_wait). Returns false, and never runs `then`, when there is no
  // connection now: the caller reads the database at once.
  using Then = std::function<void(bool caught_up)>;
  bool CatchUpThen(std::chrono::system_clock::time_point deadline, Then then);
  bool connected() const;
  Stats stats() const;
  // Another connection (the pool's) reached `server` ("<system identifier>/<timeline>"): when
  // that is not the server the LISTEN connection listens on (a failover left it on the old
  // primary, still reachable, while new connections reach the new one), nothing it hears says
  // anything about what the others read: CatchUp fails at once from here on, and the thread
  // drops the connection and reconnects (which resets, and counts a server change). "" is
  // unknown: ignored. Thread-safe.
  void ServerSeen(const std::string& server);

 private:
  struct Receiver;
  void Run();
  bool Open();       // connects and LISTENs; on_reset; then connected
  void RoundTrip();  // one barrier (throws on a broken connection)
  void Lost(const std::string& why);
  void Wake() const;
  void NotifyAll();
  // Hands the continuations chosen under the lock to their owners, outside it.
  static void RunAll(std::vector<Then>& thens, bool caught_up);
  // Takes, under the lock, the continuations answered by barrier `done` (all when `done` is 0).
  std::vector<Then> TakeAnswered(uint64_t done);
  void Sweep();  // the sweeper thread: gives up on continuations past their deadline

  const Options options_;
  const OnChange on_change_;
  const OnReset on_reset_;
  int wake_fd_ = -1;  // eventfd: a CatchUp waits, or the feed stops

  mutable std::mutex mu_;
  // By the parity of the barrier waited for: at most two are awaited at once (the one in
  // flight and the next), and waking only the waiters of the one answered spares the others
  // a wake-up per round trip.
  std::condition_variable answered_[2];
  std::condition_variable stop_;  // the thread's pause between connection attempts
  bool connected_ = false;
  bool stopping_ = false;
  bool wanted_ = false;           // a CatchUp waits for a barrier not yet started
  std::string listening_server_;  // server_ while connected ("": unknown)
  std::string other_server_;      // what ServerSeen reported instead; the thread reconnects
  uint64_t next_ = 1;             // number of the next barrier to start
  uint64_t done_ = 0;             // the last barrier answered
  struct Waiter {
    uint64_t ticket;  // the barrier whose answer proves this caller's moment
    std::chrono::system_clock::time_point deadline;
    Then then;
  };
  std::vector<Waiter> waiters_;  // CatchUpThen's, by ticket (so answered ones come first)
  Stats stats_;

  // Used by the thread only.
  int failed_opens_ = 0;  // connect attempts failed since the last success
  std::string
      server_;  // ServerIdentity (db/connection.h) of the last connection ("": none yet, unknown)
  std::unique_ptr<pqxx::connection> connection_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  std::thread thread_;
  std::thread sweeper_;
};

}  // namespace zeva::db
