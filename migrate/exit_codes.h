#pragma once
// zeva-migrate's exit codes (documented in docs/migrations.md and in --help).

namespace zeva::migrate {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // a migration or the database failed, or interrupted by a signal
  kExitUsage = 2,        // bad flags, verb or revision
  kExitRefused = 3,      // the database is in an unexpected state (nothing was changed)
  kExitLockTimeout = 4,  // the migration lock was not obtained in time
  kExitNotAtHead = 5,    // `check --head`: consistent, but not at this build's head
};

inline constexpr char kExitCodeHelp[] =
    "Exit codes: 0 ok; 1 failed (database error, failed migration, signal); 2 usage;\n"
    "3 refused: the database is in an unexpected state (edited/missing/unknown migration,\n"
    "  unknown alembic revision, tables without a version), nothing changed;\n"
    "4 migration lock not obtained in time; 5 `check --head`: not at this build's head.\n"
    "`audit`: 0 the ledger holds; 1 a violation (one line each) or the database failed.\n";

}  // namespace zeva::migrate
