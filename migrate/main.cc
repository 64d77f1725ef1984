// zeva-migrate: the standalone migration runner (replaces `alembic upgrade head`).
// Foundation stage: connects and reports the database's alembic revision.

#include <pqxx/pqxx>

#include <cstdio>
#include <string>
#include <vector>

#include "config/option_set.h"
#include "db/connection.h"

int main(int argc, char** argv) {
  std::string database_url;
  zeva::config::OptionSet options(
      "zeva-migrate: applies the database migrations under migrations/.\n"
      "Usage: zeva-migrate [options] current");
  options.AddSecret("database-url", "DATABASE_URL", "PostgreSQL URL. Required.", &database_url);
  bool help = false;
  auto positional = options.Parse(std::vector<std::string>(argv + 1, argv + argc),
                                  zeva::config::ProcessEnv(), &help);
  if (!positional.ok()) {
    std::fprintf(stderr, "zeva-migrate: %s\n", std::string(positional.status().message()).c_str());
    return 2;
  }
  if (help) {
    std::fputs(options.Help().c_str(), stdout);
    return 0;
  }
  if (database_url.empty()) {
    std::fprintf(stderr, "zeva-migrate: DATABASE_URL (or --database-url) is required\n");
    return 2;
  }
  auto connection = zeva::db::Connect(database_url, "zeva-migrate", 10);
  if (!connection.ok()) {
    std::fprintf(stderr, "zeva-migrate: %s\n", std::string(connection.status().message()).c_str());
    return 1;
  }
  try {
    pqxx::work tx(**connection);
    auto has_table = tx.exec1("SELECT to_regclass('public.alembic_version') IS NOT NULL")[0].as<bool>();
    std::string revision = "(none)";
    if (has_table) {
      auto rows = tx.exec("SELECT version_num FROM alembic_version");
      if (!rows.empty()) revision = rows[0][0].as<std::string>();
    }
    std::printf("connected to %s; alembic revision: %s\n",
                zeva::db::RedactUrl(database_url).c_str(), revision.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zeva-migrate: %s\n", e.what());
    return 1;
  }
  return 0;
}
