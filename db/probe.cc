#include "db/probe.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "db/connection.h"

namespace zeva::db {

Probe::~Probe() = default;

absl::Status Probe::Check() {
  if (!connection_ || !connection_->is_open()) {
    auto opened = Connect(url_, "zeva-transaction-service-probe", connect_timeout_seconds_);
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
