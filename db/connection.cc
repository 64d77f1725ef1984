#include "db/connection.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zeva::db {

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
                             int connect_timeout_seconds) {
  if (absl::StrContains(url, "://")) {
    return absl::StrCat(url, absl::StrContains(url, '?') ? "&" : "?",
                        "application_name=", application_name,
                        "&connect_timeout=", connect_timeout_seconds);
  }
  return absl::StrCat(url, " application_name=", application_name,
                      " connect_timeout=", connect_timeout_seconds);
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const std::string& url,
                                                          const std::string& application_name,
                                                          int connect_timeout_seconds) {
  try {
    return std::make_unique<pqxx::connection>(
        ConnectionString(url, application_name, connect_timeout_seconds));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL at ", RedactUrl(url), ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use database URL ", RedactUrl(url), ": ", e.what()));
  }
}

}  // namespace zeva::db
