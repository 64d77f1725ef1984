#pragma once
// A bounded pool of PostgreSQL connections.
//
// - At most `size` connections exist; a caller waits at most `acquire_timeout` (or until its
//   deadline) for one, then gets UNAVAILABLE rather than hanging.
// - Connections are opened lazily and prepare every statement of AllStatements() once.
// - A connection that breaks is dropped together with every idle one (after a PostgreSQL
//   restart they are all dead), and the work is retried once on a fresh connection: a broken
//   connection means the transaction did not commit, so the retry cannot apply a write twice.
// - Leases are RAII: whatever way a call leaves (error, exception, cancellation) the
//   connection goes back.
// libpqxx exceptions stop here: `Run` turns them into absl::Status.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace zeva::db {

using Clock = std::chrono::system_clock;

struct PoolOptions {
  std::string url;
  int size = 8;
  std::chrono::milliseconds acquire_timeout{2000};
  int connect_timeout_seconds = 5;
  std::string application_name = "zeva-transaction-service";
};

struct PoolStats {
  int size = 0;        // connections open now
  int in_use = 0;      // of which leased
  int waiting = 0;     // callers waiting for a lease
  int64_t broken = 0;  // connections dropped as broken, since start
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Runs `work` on a pooled connection. `deadline` bounds the wait for a connection.
  // pqxx exceptions become: broken connection -> UNAVAILABLE (after one retry);
  // unique violation -> ALREADY_EXISTS; query cancelled by statement_timeout ->
  // DEADLINE_EXCEEDED; anything else -> INTERNAL (the detail is for the logs).
  template <typename T>
  absl::StatusOr<T> Run(Clock::time_point deadline,
                        const std::function<absl::StatusOr<T>(pqxx::connection&)>& work) {
    absl::StatusOr<T> result = absl::UnknownError("not run");
    absl::Status status = RunErased(deadline, [&](pqxx::connection& c) {
      result = work(c);
      return result.status();
    });
    if (!status.ok()) return status;
    return result;
  }

  PoolStats Stats() const;

 private:
  struct Lease;
  absl::Status RunErased(Clock::time_point deadline,
                         const std::function<absl::Status(pqxx::connection&)>& work);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire(Clock::time_point deadline);
  void Release(std::unique_ptr<pqxx::connection> connection, bool broken);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Open(Clock::time_point limit);

  const PoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;  // idle + leased + being opened
  int waiting_ = 0;
  int64_t broken_ = 0;
};

}  // namespace zeva::db
