#pragma once
// The verbs of zeva-migrate, given parsed settings; each returns the process exit code
// (exit_codes.h). Logs go to stderr; what a verb reports (ids, history, SQL) goes to stdout.

#include <string>
#include <vector>

namespace zeva::migrate {

struct Settings {
  std::string verb;               // upgrade, downgrade, current, history, check, audit
  std::vector<std::string> args;  // after the verb (the target revision)
  std::string database_url;
  std::string migrations_dir;  // empty: DefaultMigrationsDir
  std::string executable;      // argv[0], to find an installed migrations folder
  int wait_seconds = 0;
  int lock_wait_seconds = 300;
  std::string lock_timeout = "10s";
  std::string statement_timeout = "0";
  bool fixtures = false;
  bool sql = false;
  bool head = false;
  bool outbox = false;  // audit: the outbox checks too
};

int Run(const Settings& settings);

}  // namespace zeva::migrate
