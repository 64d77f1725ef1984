#include "db/pool.h"

#include <poll.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/connection.h"
#include "db/statement.h"
#include "spdlog/spdlog.h"

namespace zeva::db {
namespace {

// SQLSTATE classes that mean the connection or the server went away.
bool IsConnectionLoss(const std::string& sqlstate) {
  return absl::StartsWith(sqlstate, "08") ||  // connection exception
         absl::StartsWith(sqlstate, "57P");   // admin/crash shutdown, cannot connect now
}

absl::Status MapSqlError(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  if (state == "23505") return absl::AlreadyExistsError(e.what());
  if (state == "57014") return absl::DeadlineExceededError("query cancelled by statement timeout");
  if (state == "40001" || state == "40P01") return absl::AbortedError(e.what());
  if (IsConnectionLoss(state)) return absl::UnavailableError(e.what());
  return absl::InternalError(absl::StrCat("SQL error ", state, ": ", e.what()));
}

// An idle connection should have nothing to read: readable means the server closed it
// (e.g. PostgreSQL restarted) or sent an error; either way it is not worth handing out.
bool LooksDead(pqxx::connection& connection) {
  if (!connection.is_open()) return true;
  pollfd fd{connection.sock(), POLLIN, 0};
  if (fd.fd < 0) return true;
  return poll(&fd, 1, 0) != 0;
}

}  // namespace

ConnectionPool::ConnectionPool(PoolOptions options) : options_(std::move(options)) {}

ConnectionPool::~ConnectionPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Open(Clock::time_point limit) {
  // A PostgreSQL that accepts connections but never answers (hung, or an address black-holed
  // by a failover) must not hold the caller past its wait for a connection. libpq counts
  // connect_timeout in whole seconds, at least 2.
  const auto left = std::chrono::ceil<std::chrono::seconds>(limit - Clock::now()).count();
  const int seconds = static_cast<int>(
      std::min<int64_t>(options_.connect_timeout_seconds, std::max<int64_t>(2, left)));
  auto connection = Connect(options_.url, options_.application_name, seconds);
  if (!connection.ok()) return connection.status();
  try {
    for (const Statement& statement : AllStatements()) {
      (*connection)->prepare(statement.name, statement.sql);
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("preparing statements failed: ", e.what()));
  }
  return connection;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Acquire(
    Clock::time_point deadline) {
  const auto limit = std::min(deadline, Clock::now() + options_.acquire_timeout);
  std::unique_lock<std::mutex> lock(mutex_);
  ++waiting_;
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (!LooksDead(*connection)) {
        --waiting_;
        return connection;
      }
      --open_;
      ++broken_;
      lock.unlock();
      connection.reset();  // closing may touch the network: not under the lock
      lock.lock();
    }
    if (open_ < options_.size) {
      ++open_;
      --waiting_;
      lock.unlock();
      auto opened = Open(limit);
      if (!opened.ok()) {
        lock.lock();
        --open_;
        available_.notify_one();
        return opened.status();
      }
      return opened;
    }
    if (available_.wait_until(lock, limit) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      --waiting_;
      return absl::UnavailableError(absl::StrCat("no database connection free in time (pool of ",
                                                 options_.size, ", all in use)"));
    }
  }
}

void ConnectionPool::Release(std::unique_ptr<pqxx::connection> connection, bool broken) {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (broken || !connection->is_open()) {
      // After one broken connection the idle ones are suspect too (server restart).
      dropped.swap(idle_);
      dropped.push_back(std::move(connection));
      open_ -= static_cast<int>(dropped.size());
      broken_ += static_cast<int64_t>(dropped.size());
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  available_.notify_all();
}

absl::Status ConnectionPool::RunErased(Clock::time_point deadline,
                                       const std::function<absl::Status(pqxx::connection&)>& work) {
  for (int attempt = 0;; ++attempt) {
    auto connection = Acquire(deadline);
    if (!connection.ok()) return connection.status();
    absl::Status status;
    bool broken = false;
    bool retryable = false;
    try {
      status = work(**connection);
    } catch (const pqxx::in_doubt_error& e) {
      // The commit may or may not have happened: never retry, tell the caller.
      broken = true;
      status = absl::UnavailableError(absl::StrCat("commit outcome unknown: ", e.what()));
    } catch (const pqxx::broken_connection& e) {
      broken = retryable = true;
      status = absl::UnavailableError(absl::StrCat("database connection lost: ", e.what()));
    } catch (const pqxx::sql_error& e) {
      broken = IsConnectionLoss(e.sqlstate());
      retryable = broken;
      status = MapSqlError(e);
    } catch (const std::exception& e) {
      status = absl::InternalError(absl::StrCat("database layer: ", e.what()));
    }
    Release(std::move(*connection), broken);
    if (broken && retryable && attempt == 0 && Clock::now() < deadline) {
      spdlog::warn("database connection lost, retrying once: {}", std::string(status.message()));
      continue;
    }
    return status;
  }
}

PoolStats ConnectionPool::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return PoolStats{open_, open_ - static_cast<int>(idle_.size()), waiting_, broken_};
}

}  // namespace zeva::db
