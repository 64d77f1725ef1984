#include "db/probe.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "db/connection.h"

namespace zeva::db {
namespace {

using Steady = std::chrono::steady_clock;

// Waits until the socket is ready for `events` or the deadline passes.
bool WaitFor(int socket, short events, Steady::time_point deadline) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    if (left.count() <= 0) return false;
    pollfd fd{socket, events, 0};
    const int ready = poll(&fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

absl::Status TimedOut(std::chrono::milliseconds timeout) {
  return absl::UnavailableError(
      absl::StrCat("database did not answer the probe within ", timeout.count(), " ms"));
}

}  // namespace

Probe::~Probe() { Close(); }

void Probe::Close() {
  if (connection_ != nullptr) PQfinish(connection_);
  connection_ = nullptr;
}

absl::Status Probe::Check() {
  const auto deadline = Steady::now() + timeout_;
  // A kept connection may have died with a PostgreSQL restart: one fresh attempt then, so
  // that readiness does not lag a period behind a database that is back.
  const bool reused = connection_ != nullptr;
  absl::Status status = CheckOnce(deadline);
  if (!status.ok() && reused && Steady::now() < deadline) status = CheckOnce(deadline);
  return status;
}

absl::Status Probe::CheckOnce(Steady::time_point deadline) {
  if (connection_ != nullptr && PQstatus(connection_) != CONNECTION_OK) Close();
  if (connection_ == nullptr) {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout_).count();
    const std::string conninfo =
        ConnectionString(url_, "zeva-transaction-service-probe",
                         static_cast<int>(std::max<int64_t>(2, seconds)), peer_timeout_ms_);
    connection_ = PQconnectStart(conninfo.c_str());
    if (connection_ == nullptr) return absl::UnavailableError("out of memory for a connection");
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED || PQstatus(connection_) == CONNECTION_BAD) {
        const std::string error = PQerrorMessage(connection_);
        Close();
        return absl::UnavailableError(absl::StrCat("database probe cannot connect: ", error));
      }
      if (!WaitFor(PQsocket(connection_), state == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                   deadline)) {
        Close();
        return TimedOut(timeout_);
      }
      state = PQconnectPoll(connection_);
    }
  }
  if (PQsendQuery(connection_, "SELECT 1") == 0) {
    const std::string error = PQerrorMessage(connection_);
    Close();
    return absl::UnavailableError(absl::StrCat("database probe failed: ", error));
  }
  bool failed = false;
  std::string error;
  while (true) {
    while (PQisBusy(connection_) != 0) {
      if (!WaitFor(PQsocket(connection_), POLLIN, deadline)) {
        Close();
        return TimedOut(timeout_);
      }
      if (PQconsumeInput(connection_) == 0) {
        error = PQerrorMessage(connection_);
        Close();
        return absl::UnavailableError(absl::StrCat("database probe failed: ", error));
      }
    }
    PGresult* result = PQgetResult(connection_);
    if (result == nullptr) break;
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
      failed = true;
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  if (failed) {
    Close();
    return absl::UnavailableError(absl::StrCat("database probe failed: ", error));
  }
  return absl::OkStatus();
}

}  // namespace zeva::db
