#include "db/probe.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "db/connection.h"

namespace zeva::db {

Probe::~Probe() = default;

absl::Status Probe::Check() {
  // A kept connection may have died with a PostgreSQL restart: one fresh attempt then, so
  // that readiness does not lag a period behind a database that is back.
  const bool reused = connection_ && connection_->is_open();
  absl::Status status = CheckOnce();
  if (!status.ok() && reused) status = CheckOnce();
  return status;
}

absl::Status Probe::CheckOnce() {
  if (!connection_ || !connection_->is_open()) {
    // Short: a readiness answer that takes the full connect timeout comes too late.
    auto opened = Connect(url_, "zeva-transaction-service-probe",
                          std::min(connect_timeout_seconds_, kMaxProbeConnectSeconds));
    if (!opened.ok()) return opened.status();
    connection_ = std::move(*opened);
  }
  try {
    pqxx::nontransaction tx(*connection_);
    tx.exec("SELECT 1");
    return absl::OkStatus();
  } catch (const std::exception& e) {
    connection_.reset();
    return absl::UnavailableError(absl::StrCat("database probe failed: ", e.what()));
  }
}

}  // namespace zeva::db
