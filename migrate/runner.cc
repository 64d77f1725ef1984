#include "migrate/runner.h"

#include <pwd.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/connection.h"
#include "db/ledger_audit.h"
#include "migrate/bookkeeping.h"
#include "migrate/catalog.h"
#include "migrate/database.h"
#include "migrate/exit_codes.h"
#include "migrate/interrupts.h"
#include "migrate/plan.h"

namespace zeva::migrate {

namespace {

void LogLine(const std::string& message) {
  timeval now{};
  gettimeofday(&now, nullptr);
  std::tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::fprintf(stderr, "%s.%03dZ zeva-migrate[%d]: %s\n", stamp,
               static_cast<int>(now.tv_usec / 1000), static_cast<int>(getpid()), message.c_str());
}

int ExitFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return kExitRefused;
    case absl::StatusCode::kDeadlineExceeded:
      return kExitLockTimeout;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

int Fail(const absl::Status& status) {
  LogLine(
      absl::StrCat(ExitFor(status) == kExitRefused ? "refused: " : "error: ", status.message()));
  return ExitFor(status);
}

// Who applied a migration: OS user, host (the pod's name in Kubernetes) and pid.
std::string AppliedBy() {
  char host[256] = "unknown-host";
  gethostname(host, sizeof host - 1);
  const passwd* entry = getpwuid(getuid());
  const std::string user = entry != nullptr ? entry->pw_name : std::to_string(getuid());
  return absl::StrCat(user, "@", host, " (zeva-migrate pid ", getpid(), ")");
}

struct Chain {
  std::string dir;
  std::vector<Migration> migrations;
};

absl::StatusOr<Chain> LoadMigrations(const Settings& settings) {
  Chain chain;
  if (!settings.migrations_dir.empty()) {
    chain.dir = settings.migrations_dir;
  } else {
    auto dir = DefaultMigrationsDir(settings.executable);
    if (!dir.ok()) return absl::InternalError(dir.status().message());
    chain.dir = *dir;
  }
  auto migrations = LoadChain(chain.dir);
  // A broken migrations folder is a broken build or image: "failed", not "usage".
  if (!migrations.ok()) return absl::InternalError(migrations.status().message());
  chain.migrations = *std::move(migrations);
  return chain;
}

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const Settings& settings) {
  if (settings.database_url.empty()) {
    return absl::InvalidArgumentError("DATABASE_URL (or --database-url) is required");
  }
  return Database::Open(settings.database_url, settings.wait_seconds, &Interrupts::Install(),
                        LogLine);
}

// The assessment of the database for --sql: read-only when a database is given, else the
// assumed starting point (`assumed_applied` migrations, fixtures unknown).
absl::StatusOr<Assessment> AssessForScript(const Settings& settings, const Chain& chain,
                                           int assumed_applied) {
  if (settings.database_url.empty()) {
    Assessment at;
    at.applied = assumed_applied;
    at.fixtures.assign(assumed_applied, std::nullopt);
    return at;
  }
  auto database = OpenDatabase(settings);
  if (!database.ok()) return database.status();
  auto state = (*database)->ReadState();
  if (!state.ok()) return state.status();
  return Assess(chain.migrations, *state);
}

// Takes the lock, sets the timeouts and assesses the database under the lock.
absl::StatusOr<Assessment> LockAndAssess(const Settings& settings, const Chain& chain,
                                         Database* database) {
  if (absl::Status locked = database->Lock(settings.lock_wait_seconds); !locked.ok()) {
    return locked;
  }
  if (absl::Status set = database->SetTimeouts(settings.lock_timeout, settings.statement_timeout);
      !set.ok()) {
    return set;
  }
  auto state = database->ReadState();
  if (!state.ok()) return state.status();
  return Assess(chain.migrations, *state);
}

int Execute(const Chain& chain, const Plan& plan, Database* database) {
  const auto& migrations = chain.migrations;
  if (plan.steps.empty() && !plan.adopt) {
    LogLine(absl::StrCat("database is at ", PositionName(migrations, plan.from),
                         plan.from == static_cast<int>(migrations.size()) ? " (head)" : "",
                         ": nothing to do"));
    return kExitOk;
  }
  const std::string applied_by = AppliedBy();
  std::vector<BoundStatement> prepare = CreateBookkeeping();
  if (plan.adopt) {
    LogLine(absl::StrCat("adopting an alembic-era database at ",
                         PositionName(migrations, plan.from), ": migrations 1..", plan.from,
                         " count as applied and do not run again"));
    for (auto& s : RecordAdoption(migrations, plan.from, applied_by)) prepare.push_back(s);
  }
  if (absl::Status ready = database->Execute(prepare, "preparing the history table"); !ready.ok()) {
    return Fail(ready);
  }
  for (const Step& step : plan.steps) {
    LogLine(absl::StrCat(step.up ? "applying " : "undoing ", step.migration->id, " (",
                         step.migration->file_name, "): ", step.migration->description));
    if (absl::Status applied = database->Apply(migrations, step, applied_by); !applied.ok()) {
      return Fail(applied);
    }
  }
  LogLine(absl::StrCat("database is at ", PositionName(migrations, plan.to),
                       plan.to == static_cast<int>(migrations.size()) ? " (head)" : ""));
  return kExitOk;
}

using Planner = std::function<absl::StatusOr<Plan>(const Assessment&)>;

// upgrade and downgrade: print the plan's SQL (--sql), or take the lock and carry it out.
// `script_start` is where --sql assumes the database is when no database is given.
int Change(const Settings& settings, const Chain& chain, int script_start,
           const Planner& plan_for) {
  if (settings.sql) {
    auto at = AssessForScript(settings, chain, script_start);
    if (!at.ok()) return Fail(at.status());
    auto plan = plan_for(*at);
    if (!plan.ok()) return Fail(plan.status());
    std::fputs(RenderScript(chain.migrations, *plan, "zeva-migrate --sql").c_str(), stdout);
    return kExitOk;
  }
  auto database = OpenDatabase(settings);
  if (!database.ok()) return Fail(database.status());
  auto at = LockAndAssess(settings, chain, database->get());
  if (!at.ok()) return Fail(at.status());
  auto plan = plan_for(*at);
  if (!plan.ok()) return Fail(plan.status());
  return Execute(chain, *plan, database->get());
}

int Upgrade(const Settings& settings, const Chain& chain) {
  if (settings.args.size() > 1) return Fail(absl::InvalidArgumentError("upgrade takes one target"));
  auto target = ResolveTarget(chain.migrations, settings.args.empty() ? "head" : settings.args[0]);
  if (!target.ok()) return Fail(target.status());
  return Change(settings, chain, 0, [&](const Assessment& at) {
    return PlanUpgrade(chain.migrations, at, *target, settings.fixtures);
  });
}

int Downgrade(const Settings& settings, const Chain& chain) {
  if (settings.args.size() != 1) {
    return Fail(absl::InvalidArgumentError("downgrade needs one target: an id or base"));
  }
  auto target = ResolveTarget(chain.migrations, settings.args[0]);
  if (!target.ok()) return Fail(target.status());
  return Change(settings, chain, static_cast<int>(chain.migrations.size()),
                [&](const Assessment& at) { return PlanDowngrade(chain.migrations, at, *target); });
}

// Reads the state without the lock (current, history, check are read-only).
absl::StatusOr<DbState> ReadOnlyState(const Settings& settings) {
  auto database = OpenDatabase(settings);
  if (!database.ok()) return database.status();
  return (*database)->ReadState();
}

std::string AlembicRevision(const DbState& state) {
  return state.alembic_versions.empty() ? "(none)" : absl::StrJoin(state.alembic_versions, ", ");
}

int Current(const Settings& settings, const Chain& chain) {
  auto state = ReadOnlyState(settings);
  if (!state.ok()) return Fail(state.status());
  const Assessment at = Assess(chain.migrations, *state);
  LogLine(absl::StrCat("database ", db::RedactUrl(settings.database_url), "; alembic revision: ",
                       AlembicRevision(*state), "; history rows: ", state->history.size()));
  if (!at.problems.empty()) {
    for (const auto& problem : at.problems) std::printf("problem: %s\n", problem.c_str());
    return kExitRefused;
  }
  const bool at_head = at.applied == static_cast<int>(chain.migrations.size());
  std::printf("%s%s%s\n", PositionName(chain.migrations, at.applied).c_str(),
              at_head ? " (head)" : "", at.adopt ? " (alembic-era, adopted on next upgrade)" : "");
  return kExitOk;
}

int History(const Settings& settings, const Chain& chain) {
  DbState state;
  Assessment at;
  const bool with_database = !settings.database_url.empty();
  if (with_database) {
    auto read = ReadOnlyState(settings);
    if (!read.ok()) return Fail(read.status());
    state = *std::move(read);
    at = Assess(chain.migrations, state);
  }
  std::printf("migrations in %s%s\n", chain.dir.c_str(),
              with_database ? "" : " (no DATABASE_URL: database state not shown)");
  for (size_t i = 0; i < chain.migrations.size(); ++i) {
    const Migration& m = chain.migrations[i];
    std::string status;
    if (i < state.history.size() && state.history[i].id == m.id) {
      const HistoryRow& row = state.history[i];
      status =
          absl::StrCat(" applied ", row.applied_at, " by ", row.applied_by, " in ", row.duration_ms,
                       " ms", row.fixtures ? (*row.fixtures ? ", fixtures" : "") : "");
    } else if (with_database && static_cast<int>(i) < at.applied) {
      status = " applied (by alembic; adopted on next upgrade)";
    }
    std::printf("[%s] %04d %-32s %s%s%s\n", status.empty() ? " " : "x", m.number, m.id.c_str(),
                m.description.c_str(), m.down ? "" : " (irreversible)", status.c_str());
  }
  for (const auto& problem : at.problems) std::printf("problem: %s\n", problem.c_str());
  return kExitOk;
}

int Check(const Settings& settings, const Chain& chain) {
  auto state = ReadOnlyState(settings);
  if (!state.ok()) return Fail(state.status());
  const Assessment at = Assess(chain.migrations, *state);
  for (const auto& problem : at.problems) std::printf("problem: %s\n", problem.c_str());
  if (!at.problems.empty()) return kExitRefused;
  const int total = static_cast<int>(chain.migrations.size());
  std::printf("ok: at %s, %d of %d applied, %d pending%s\n",
              PositionName(chain.migrations, at.applied).c_str(), at.applied, total,
              total - at.applied, at.adopt ? " (alembic-era, adopted on next upgrade)" : "");
  if (settings.head && at.applied != total) {
    std::printf("not at head %s\n", PositionName(chain.migrations, total).c_str());
    return kExitNotAtHead;
  }
  return kExitOk;
}

}  // namespace

// The credit ledger's invariants (db/ledger_audit.h), for operators: one line per violation.
int Audit(const Settings& settings) {
  if (settings.database_url.empty()) {
    return Fail(absl::InvalidArgumentError("DATABASE_URL is required"));
  }
  auto violations = db::AuditLedger(settings.database_url, settings.outbox);
  if (!violations.ok()) return Fail(violations.status());
  for (const std::string& violation : *violations)
    std::printf("violation: %s\n", violation.c_str());
  if (!violations->empty()) return kExitFailed;
  std::printf("ok: the credit ledger's invariants hold%s\n",
              settings.outbox ? ", and every change has its outbox event" : "");
  return kExitOk;
}

int Run(const Settings& settings) {
  if (settings.verb == "audit") return Audit(settings);  // needs no migration files
  auto chain = LoadMigrations(settings);
  if (!chain.ok()) return Fail(chain.status());
  if (settings.verb == "upgrade") return Upgrade(settings, *chain);
  if (settings.verb == "downgrade") return Downgrade(settings, *chain);
  if (settings.verb == "current") return Current(settings, *chain);
  if (settings.verb == "history") return History(settings, *chain);
  if (settings.verb == "check") return Check(settings, *chain);
  return Fail(absl::InvalidArgumentError(absl::StrCat("unknown verb '", settings.verb, "'")));
}

}  // namespace zeva::migrate
