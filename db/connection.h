#pragma once
// Opening PostgreSQL connections. libpqxx exceptions stop here and become absl::Status.

#include <memory>
#include <pqxx/connection>
#include <string>

#include "absl/status/statusor.h"

namespace zeva::db {

// How long a connection to a peer that vanished without closing it (a silent network drop, a
// host gone in a failover, a half-open connection) may go unanswered before it fails: data
// left unacknowledged this long fails it (tcp_user_timeout), and an idle one is probed by TCP
// keepalives after half of it, every fifth of it (at least 1 s each), three times. 10 s: about
// 11 s for an idle connection, 10 s for a query sent into the void.
inline constexpr int kDefaultPeerTimeoutMs = 10000;

// Opens a connection; UNAVAILABLE when the server cannot be reached, INVALID_ARGUMENT when
// the URL is malformed. `application_name` shows in pg_stat_activity.
absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(
    const std::string& url, const std::string& application_name, int connect_timeout_seconds,
    int peer_timeout_ms = kDefaultPeerTimeoutMs);

// The libpq connection string for `url` with the application name, connect timeout and the
// dead-peer settings of `peer_timeout_ms` added (URL or key=value form).
std::string ConnectionString(const std::string& url, const std::string& application_name,
                             int connect_timeout_seconds,
                             int peer_timeout_ms = kDefaultPeerTimeoutMs);

// Which server `connection` reached (kServerIdentitySql: "<system identifier>/<timeline>"), or ""
// when the server will not say (e.g. the functions revoked). A lost connection throws
// pqxx::broken_connection, for the caller to treat as any failure of a fresh connection.
std::string ServerIdentity(pqxx::connection& connection);

// The URL with any password replaced by "***", safe to log.
std::string RedactUrl(const std::string& url);

}  // namespace zeva::db
