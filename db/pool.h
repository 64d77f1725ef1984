#pragma once
// A bounded pool of PostgreSQL connections.
//
// - At most `size` connections exist; a caller waits at most `acquire_timeout` (or until its
//   deadline) for one, then gets UNAVAILABLE rather than hanging.
// - No single owner (a caller) holds more than `max_per_owner` of them at once: beyond that it
//   waits the same way for one of its own leases to return, then gets RESOURCE_EXHAUSTED, so
//   that one client's many slow calls cannot starve everybody else.
// - Every statement run on a lease is bounded by the lease's deadline: the pool sets the
//   session's statement_timeout before handing the connection to the work (skipping the round
//   trip when the value already set still fits), so no path can forget it.
// - Connections are opened lazily and prepare every statement of AllStatements() once.
// - A connection that breaks is dropped together with every idle one (after a PostgreSQL
//   restart they are all dead), and the work is retried once on a fresh connection: a broken
//   connection means the transaction did not commit, so the retry cannot apply a write twice.
// - Leases are RAII: whatever way a call leaves (error, exception, cancellation) the
//   connection goes back.
// libpqxx exceptions stop here: `Run` turns them into absl::Status.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/connection.h"
#include "domain/refusal.h"

namespace zeva::db {

using Clock = std::chrono::system_clock;

// What one call may spend of the database: time until its deadline, and the leases of its
// owner (the caller's identity; "" for work done for nobody in particular, not limited).
struct Budget {
  Clock::time_point deadline;
  std::string owner;
};

struct PoolOptions {
  std::string url;
  int size = 8;
  std::chrono::milliseconds acquire_timeout{2000};
  int connect_timeout_seconds = 5;
  std::string application_name = "zeva-transaction-service";
  int max_per_owner = 0;                        // 0: `size`
  int peer_timeout_ms = kDefaultPeerTimeoutMs;  // see db/connection.h
};

struct PoolStats {
  int size = 0;                // connections open now
  int in_use = 0;              // of which leased
  int waiting = 0;             // callers waiting for a lease
  int64_t broken = 0;          // connections dropped as broken, since start
  int64_t owner_refusals = 0;  // RESOURCE_EXHAUSTED for an owner at its share, since start
  int64_t retries = 0;         // transactions run again after PostgreSQL aborted them
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs `work` on a pooled connection within `budget`.
  // pqxx exceptions become: broken connection -> UNAVAILABLE (after one retry);
  // unique violation -> ALREADY_EXISTS; query cancelled by statement_timeout ->
  // DEADLINE_EXCEEDED; serialization failure or deadlock -> ABORTED; anything else ->
  // INTERNAL (the detail is for the logs).
  template <typename T>
  absl::StatusOr<T> Run(const Budget& budget,
                        const std::function<absl::StatusOr<T>(pqxx::connection&)>& work) {
    absl::StatusOr<T> result = absl::UnknownError("not run");
    absl::Status status = RunErased(budget, [&](pqxx::connection& c) {
      result = work(c);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }

  PoolStats Stats() const;
  // Told, on every new connection, which server it reached ("<system identifier>/<timeline>",
  // "" when that cannot be read): so that a LISTEN connection left on an old primary is
  // noticed once the pool reaches a new one. Set before the pool is used.
  void WatchServers(std::function<void(const std::string& server)> watcher) {
    server_watcher_ = std::move(watcher);
  }
  // RunWithRetries counts each transaction it runs again (a deadlock or serialization failure).
  void CountRetry() { retries_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Pooled;
  absl::Status RunErased(const Budget& budget,
                         const std::function<absl::Status(pqxx::connection&)>& work);
  absl::StatusOr<std::unique_ptr<Pooled>> Acquire(const Budget& budget);
  void Release(std::unique_ptr<Pooled> connection, const std::string& owner, bool broken);
  absl::StatusOr<std::unique_ptr<Pooled>> Open(Clock::time_point limit);

  const PoolOptions options_;
  const int max_per_owner_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Pooled>> idle_;
  std::map<std::string, int> leases_by_owner_;
  int open_ = 0;  // idle + leased + being opened
  int waiting_ = 0;
  int64_t broken_ = 0;
  int64_t owner_refusals_ = 0;
  std::atomic<int64_t> retries_{0};
  std::function<void(const std::string&)> server_watcher_;
};

// Runs `work` like ConnectionPool::Run, and again when PostgreSQL aborted it (serialization
// failure or deadlock: the transaction rolled back whole, so a retry is safe), at most
// `attempts` times in all and never past the deadline. A refusal that happens to be ABORTED
// (e.g. a version mismatch) is an answer, not retried.
template <typename T>
absl::StatusOr<T> RunWithRetries(ConnectionPool& pool, const Budget& budget,
                                 const std::function<absl::StatusOr<T>(pqxx::connection&)>& work,
                                 int attempts = 4) {
  absl::StatusOr<T> result = absl::UnknownError("not run");
  for (int tries = 1;; ++tries) {
    result = pool.Run<T>(budget, work);
    if (!absl::IsAborted(result.status()) || domain::IsRefusal(result.status()) ||
        tries >= attempts || Clock::now() >= budget.deadline) {
      return result;
    }
    pool.CountRetry();
  }
}

}  // namespace zeva::db
