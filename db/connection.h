#pragma once
// Opening PostgreSQL connections. libpqxx exceptions stop here and become absl::Status.

#include <memory>
#include <pqxx/connection>
#include <string>

#include "absl/status/statusor.h"

namespace zeva::db {

// Opens a connection; UNAVAILABLE when the server cannot be reached, INVALID_ARGUMENT when
// the URL is malformed. `application_name` shows in pg_stat_activity.
absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& url,
                                                          const std::string& application_name,
                                                          int connect_timeout_seconds);

// The libpq connection string for `url` with the application name and connect timeout added
// (URL or key=value form).
std::string ConnectionString(const std::string& url, const std::string& application_name,
                             int connect_timeout_seconds);

// The URL with any password replaced by "***", safe to log.
std::string RedactUrl(const std::string& url);

}  // namespace zeva::db
