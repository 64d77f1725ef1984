#pragma once
// The runner's PostgreSQL side: one connection, reading the state, the advisory lock, and
// applying a step with its bookkeeping. pqxx exceptions stop here and become absl::Status:
//   DEADLINE_EXCEEDED    the advisory lock was not obtained in time
//   CANCELLED            interrupted by SIGTERM/SIGINT (the step was rolled back)
//   INVALID_ARGUMENT     a bad setting (e.g. a lock_timeout PostgreSQL rejects)
//   other                the database failed (message names migration, statement, error)

#include <functional>
#include <memory>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "migrate/bookkeeping.h"
#include "migrate/interrupts.h"
#include "migrate/plan.h"

namespace zeva::migrate {

using Log = std::function<void(const std::string&)>;

class Database {
 public:
  // Connects, retrying every second for up to `wait_seconds` while the server is unreachable.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& url, int wait_seconds,
                                                        Interrupts* interrupts, Log log);
  ~Database();

  // The bookkeeping tables and other tables, read in one read-only snapshot.
  absl::StatusOr<DbState> ReadState();

  // Takes the advisory lock, polling pg_try_advisory_lock outside any transaction; logs the
  // holder (pid, application_name, since when) and gives up after `wait_seconds`.
  absl::Status Lock(int wait_seconds);
  void Unlock();

  // PostgreSQL's lock_timeout and statement_timeout for this session ("0" = none).
  absl::Status SetTimeouts(const std::string& lock_timeout, const std::string& statement_timeout);

  // Runs `statements` in one transaction.
  absl::Status Execute(const std::vector<BoundStatement>& statements, const std::string& what);

  // Runs one step and records it: in one transaction, or statement by statement for a
  // migration that declares `transaction: none` (then recorded after its last statement).
  absl::Status Apply(const std::vector<Migration>& chain, const Step& step,
                     const std::string& applied_by);

 private:
  Database(std::unique_ptr<pqxx::connection> connection, const std::string& url,
           Interrupts* interrupts, Log log);
  void LogLockHolder(int waited_seconds, int wait_seconds);

  std::unique_ptr<pqxx::connection> connection_;
  Interrupts* interrupts_;
  Log log_;
  bool locked_ = false;
};

}  // namespace zeva::migrate
