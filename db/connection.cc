#include "db/connection.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/session.h"
#include "spdlog/spdlog.h"

namespace zeva::db {

std::string ServerIdentity(pqxx::connection& connection) {
  try {
    pqxx::nontransaction tx(connection);
    return tx.exec1(kServerIdentitySql)[0].as<std::string>();
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const pqxx::sql_error& e) {
    spdlog::debug("cannot read the server's system identifier and timeline: {}", e.what());
    return "";
  }
}

std::string RedactUrl(const std::string& url) {
  // postgresql://user:password@host/db -> postgresql://user:***@host/db
  const auto scheme = url.find("://");
  const auto at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) {
    // key=value form: hide a password=... pair.
    const auto pw = url.find("password=");
    if (pw == std::string::npos) return url;
    const auto end = url.find(' ', pw);
    return url.substr(0, pw) + "password=***" + (end == std::string::npos ? "" : url.substr(end));
  }
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string ConnectionString(const std::string& url, const std::string& application_name,
                             int connect_timeout_seconds, int peer_timeout_ms) {
  // A peer that vanishes without closing (a silent network drop, a failed-over host) must be
  // noticed in seconds, not after the kernel's two hours: TCP keepalive probes an idle
  // connection after half the peer timeout, every fifth of it, and gives up after 3
  // unanswered (about 11 s at the default 10 s); and data left unacknowledged for the peer
  // timeout (a query sent into the void) fails the connection (tcp_user_timeout, libpq 12+).
  // Then the pool drops the connection and the LISTEN feed reconnects. libpq's own
  // parameters, so the URL may still override any of them.
  const int idle_seconds = std::max(1, peer_timeout_ms / 2000);
  const int interval_seconds = std::max(1, peer_timeout_ms / 5000);
  const std::vector<std::pair<const char*, std::string>> params = {
      {"application_name", application_name},
      {"connect_timeout", std::to_string(connect_timeout_seconds)},
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(idle_seconds)},
      {"keepalives_interval", std::to_string(interval_seconds)},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", std::to_string(peer_timeout_ms)}};
  const bool uri = absl::StrContains(url, "://");
  std::string out = url;
  char separator = uri ? (absl::StrContains(url, '?') ? '&' : '?') : ' ';
  for (const auto& [name, value] : params) {
    // A parameter the URL sets itself is left to it.
    if (absl::StrContains(url, absl::StrCat(name, "="))) continue;
    absl::StrAppend(&out, std::string(1, separator), name, "=", value);
    separator = uri ? '&' : ' ';
  }
  return out;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& url,
                                                          const std::string& application_name,
                                                          int connect_timeout_seconds,
                                                          int peer_timeout_ms) {
  try {
    return std::make_unique<pqxx::connection>(
        ConnectionString(url, application_name, connect_timeout_seconds, peer_timeout_ms));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL at ", RedactUrl(url), ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use database URL ", RedactUrl(url), ": ", e.what()));
  }
}

}  // namespace zeva::db
