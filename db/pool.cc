#include "db/pool.h"

#include <poll.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/connection.h"
#include "db/session.h"
#include "db/statement.h"
#include "spdlog/spdlog.h"

namespace zeva::db {

// A connection with the session state the pool keeps track of.
struct ConnectionPool::Pooled {
  std::unique_ptr<pqxx::connection> connection;
  int64_t statement_timeout_ms = 0;  // 0: the server's default
};

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

absl::Status DeadlinePassed() {
  return absl::DeadlineExceededError("the call's deadline passed before the database was reached");
}

}  // namespace

ConnectionPool::ConnectionPool(PoolOptions options)
    : options_(std::move(options)),
      max_per_owner_(options_.max_per_owner > 0 ? std::min(options_.max_per_owner, options_.size)
                                                : options_.size) {}

ConnectionPool::~ConnectionPool() = default;

absl::StatusOr<std::unique_ptr<ConnectionPool::Pooled>> ConnectionPool::Open(
    Clock::time_point limit) {
  // A PostgreSQL that accepts connections but never answers (hung, or an address black-holed
  // by a failover) must not hold the caller past its wait for a connection. libpq counts
  // connect_timeout in whole seconds, at least 2.
  const auto left = std::chrono::ceil<std::chrono::seconds>(limit - Clock::now()).count();
  const int seconds = static_cast<int>(
      std::min<int64_t>(options_.connect_timeout_seconds, std::max<int64_t>(2, left)));
  auto connection =
      Connect(options_.url, options_.application_name, seconds, options_.peer_timeout_ms);
  if (!connection.ok()) return connection.status();
  try {
    for (const Statement& statement : AllStatements()) {
      (*connection)->prepare(statement.name, statement.sql);
    }
    {
      pqxx::nontransaction tx(**connection);
      tx.exec_prepared(kCustomPlans.name);
    }  // one transaction at a time on a connection: ServerIdentity opens its own
    if (server_watcher_) server_watcher_(ServerIdentity(**connection));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("preparing the connection failed: ", e.what()));
  }
  return std::make_unique<Pooled>(Pooled{*std::move(connection), 0});
}

absl::StatusOr<std::unique_ptr<ConnectionPool::Pooled>> ConnectionPool::Acquire(
    const Budget& budget) {
  const auto limit = std::min(budget.deadline, Clock::now() + options_.acquire_timeout);
  std::unique_lock<std::mutex> lock(mutex_);
  ++waiting_;
  // Takes the lease for the owner; called with the lock held, once a connection is certain.
  auto lease = [&] {
    --waiting_;
    if (!budget.owner.empty()) ++leases_by_owner_[budget.owner];
  };
  while (true) {
    const bool owner_full =
        !budget.owner.empty() && leases_by_owner_[budget.owner] >= max_per_owner_;
    while (!owner_full && !idle_.empty()) {
      std::unique_ptr<Pooled> pooled = std::move(idle_.back());
      idle_.pop_back();
      if (!LooksDead(*pooled->connection)) {
        lease();
        return pooled;
      }
      --open_;
      ++broken_;
      lock.unlock();
      pooled.reset();  // closing may touch the network: not under the lock
      lock.lock();
    }
    if (!owner_full && open_ < options_.size) {
      ++open_;
      lease();
      lock.unlock();
      auto opened = Open(limit);
      if (!opened.ok()) {
        lock.lock();
        --open_;
        if (!budget.owner.empty() && --leases_by_owner_[budget.owner] == 0) {
          leases_by_owner_.erase(budget.owner);
        }
        available_.notify_all();
      }
      return opened;
    }
    if (available_.wait_until(lock, limit) == std::cv_status::timeout) {
      const bool still_full =
          !budget.owner.empty() && leases_by_owner_[budget.owner] >= max_per_owner_;
      if (still_full || (idle_.empty() && open_ >= options_.size)) {
        --waiting_;
        if (leases_by_owner_[budget.owner] == 0) leases_by_owner_.erase(budget.owner);
        if (Clock::now() >= budget.deadline) return DeadlinePassed();
        if (still_full) {
          ++owner_refusals_;
          return absl::ResourceExhaustedError(
              absl::StrCat("caller '", budget.owner, "' already holds ", max_per_owner_,
                           " of the pool's ", options_.size, " database connections"));
        }
        return absl::UnavailableError(absl::StrCat("no database connection free in time (pool of ",
                                                   options_.size, ", all in use)"));
      }
    }
  }
}

void ConnectionPool::Release(std::unique_ptr<Pooled> pooled, const std::string& owner,
                             bool broken) {
  std::vector<std::unique_ptr<Pooled>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!owner.empty() && --leases_by_owner_[owner] <= 0) leases_by_owner_.erase(owner);
    if (broken || !pooled->connection->is_open()) {
      // After one broken connection the idle ones are suspect too (server restart).
      dropped.swap(idle_);
      dropped.push_back(std::move(pooled));
      open_ -= static_cast<int>(dropped.size());
      broken_ += static_cast<int64_t>(dropped.size());
    } else {
      idle_.push_back(std::move(pooled));
    }
  }
  available_.notify_all();
}

absl::Status ConnectionPool::RunErased(const Budget& budget,
                                       const std::function<absl::Status(pqxx::connection&)>& work) {
  for (int attempt = 0;; ++attempt) {
    if (Clock::now() >= budget.deadline) return DeadlinePassed();
    auto pooled = Acquire(budget);
    if (!pooled.ok()) return pooled.status();
    Pooled& lease = **pooled;
    absl::Status status;
    bool broken = false;
    bool retryable = false;
    try {
      const int64_t left_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(budget.deadline - Clock::now())
              .count();
      if (left_ms <= 0) {
        status = DeadlinePassed();
      } else {
        if (const int64_t timeout = StatementTimeoutFor(lease.statement_timeout_ms, left_ms)) {
          lease.statement_timeout_ms = 0;  // unknown until the server confirms
          pqxx::nontransaction tx(*lease.connection);
          tx.exec_prepared(kSetStatementTimeout.name, absl::StrCat(timeout, "ms"));
          lease.statement_timeout_ms = timeout;
        }
        status = work(*lease.connection);
      }
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
    Release(std::move(*pooled), budget.owner, broken);
    if (broken && retryable && attempt == 0 && Clock::now() < budget.deadline) {
      spdlog::warn("database connection lost, retrying once: {}", std::string(status.message()));
      continue;
    }
    return status;
  }
}

PoolStats ConnectionPool::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return PoolStats{open_,           open_ - static_cast<int>(idle_.size()),  waiting_, broken_,
                   owner_refusals_, retries_.load(std::memory_order_relaxed)};
}

}  // namespace zeva::db
