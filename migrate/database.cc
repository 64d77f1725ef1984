#include "migrate/database.h"

#include <chrono>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "db/connection.h"

namespace zeva::migrate {

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kApplicationName[] = "zeva-migrate";
constexpr int kConnectTimeoutSeconds = 10;
constexpr auto kLockPollInterval = std::chrono::milliseconds(200);
constexpr int kLockLogEverySeconds = 10;

constexpr char kQuiet[] = "SET client_min_messages = warning";
constexpr char kBookkeepingTables[] =
    "SELECT to_regclass('zeva_schema_history') IS NOT NULL, "
    "to_regclass('alembic_version') IS NOT NULL";
constexpr char kHistoryRows[] =
    "SELECT id, seq, checksum, fixtures, adopted, applied_at::text, duration_ms, applied_by "
    "FROM zeva_schema_history ORDER BY seq";
constexpr char kAlembicRows[] = "SELECT version_num FROM alembic_version ORDER BY 1";
constexpr char kOtherTables[] =
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm') "
    "AND c.relname NOT IN ('zeva_schema_history', 'alembic_version') ORDER BY 1";
constexpr char kTryLock[] = "SELECT pg_try_advisory_lock($1, $2)";
constexpr char kUnlock[] = "SELECT pg_advisory_unlock($1, $2)";
constexpr char kLockHolder[] =
    "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), "
    "coalesce(a.client_addr::text, 'local'), a.backend_start::text, coalesce(a.state, ''), "
    "coalesce(a.state_change::text, '') "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::bigint::oid "
    "AND l.objid = $2::bigint::oid AND l.objsubid = 2 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";
constexpr char kSetTimeouts[] =
    "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)";

std::string Message(const std::exception& e) {
  return std::string(absl::StripAsciiWhitespace(e.what()));
}

std::string Abbreviated(const std::string& statement) {
  constexpr size_t kMax = 300;
  std::string flat;
  for (char c : statement) flat.push_back(c == '\n' ? ' ' : c);
  return flat.size() <= kMax ? flat : flat.substr(0, kMax) + "...";
}

void Exec(pqxx::transaction_base& tx, const BoundStatement& statement) {
  if (statement.params.empty()) {
    tx.exec0(statement.sql);
    return;
  }
  std::vector<const char*> params;
  for (const auto& p : statement.params) params.push_back(p ? p->c_str() : nullptr);
  tx.exec_params(statement.sql, pqxx::prepare::make_dynamic_params(params));
}

int64_t MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

Database::Database(std::unique_ptr<pqxx::connection> connection, const std::string& url,
                   Interrupts* interrupts, Log log)
    : connection_(std::move(connection)), interrupts_(interrupts), log_(std::move(log)) {
  interrupts_->Watch(url, connection_->backendpid());
}

Database::~Database() {
  interrupts_->Watch("", 0);
  Unlock();
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& url, int wait_seconds,
                                                         Interrupts* interrupts, Log log) {
  const auto deadline = Clock::now() + std::chrono::seconds(wait_seconds);
  bool told = false;
  while (true) {
    auto connection = db::Connect(url, kApplicationName, kConnectTimeoutSeconds);
    if (connection.ok()) {
      try {
        pqxx::nontransaction tx(**connection);
        tx.exec0(kQuiet);
      } catch (const std::exception& e) {
        return absl::UnavailableError(absl::StrCat("cannot use the connection: ", Message(e)));
      }
      return std::unique_ptr<Database>(
          new Database(*std::move(connection), url, interrupts, std::move(log)));
    }
    if (!absl::IsUnavailable(connection.status()) || Clock::now() >= deadline) {
      return connection.status();
    }
    if (!told) {
      log(absl::StrCat("database not reachable yet; retrying for up to ", wait_seconds, " s (",
                       connection.status().message(), ")"));
      told = true;
    }
    if (!interrupts->SleepFor(std::chrono::seconds(1))) {
      return absl::CancelledError("interrupted while waiting for the database");
    }
  }
}

absl::StatusOr<DbState> Database::ReadState() {
  try {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(*connection_);
    DbState state;
    const pqxx::row tables = tx.exec1(kBookkeepingTables);
    state.has_history_table = tables[0].as<bool>();
    state.has_alembic_table = tables[1].as<bool>();
    if (state.has_history_table) {
      for (const auto& row : tx.exec(kHistoryRows)) {
        HistoryRow h;
        h.id = row[0].as<std::string>();
        h.seq = row[1].as<int>();
        h.checksum = row[2].as<std::string>();
        if (!row[3].is_null()) h.fixtures = row[3].as<bool>();
        h.adopted = row[4].as<bool>();
        h.applied_at = row[5].as<std::string>();
        h.duration_ms = row[6].as<int64_t>();
        h.applied_by = row[7].as<std::string>();
        state.history.push_back(std::move(h));
      }
    }
    if (state.has_alembic_table) {
      for (const auto& row : tx.exec(kAlembicRows)) {
        state.alembic_versions.push_back(row[0].as<std::string>());
      }
    }
    for (const auto& row : tx.exec(kOtherTables)) {
      state.other_tables.push_back(row[0].as<std::string>());
    }
    tx.commit();
    return state;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot read the database's state: ", Message(e)));
  }
}

void Database::LogLockHolder(int waited_seconds, int wait_seconds) {
  std::string holder = "a session that has ended";
  try {
    pqxx::nontransaction tx(*connection_);
    const pqxx::result rows = tx.exec_params(kLockHolder, kLockClass, kLockObject);
    if (!rows.empty()) {
      const auto& r = rows[0];
      holder = absl::StrCat("pid ", r[0].as<std::string>(), " (application_name '",
                            r[1].as<std::string>(), "', user ", r[2].as<std::string>(), ", client ",
                            r[3].as<std::string>(), ", connected since ", r[4].as<std::string>(),
                            ", ", r[5].as<std::string>(), " since ", r[6].as<std::string>(), ")");
    }
  } catch (const std::exception& e) {
    holder = absl::StrCat("an unknown session (", Message(e), ")");
  }
  log_(absl::StrCat("migration lock held by ", holder, "; waited ", waited_seconds, " of ",
                    wait_seconds, " s"));
}

absl::Status Database::Lock(int wait_seconds) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(wait_seconds);
  int next_log_after = 0;
  try {
    while (true) {
      {
        // Autocommit: no transaction stays open while waiting, so a CREATE INDEX CONCURRENTLY
        // in the lock holder never waits on us.
        pqxx::nontransaction tx(*connection_);
        if (tx.exec_params1(kTryLock, kLockClass, kLockObject)[0].as<bool>()) {
          locked_ = true;
          if (next_log_after > 0) {
            log_(absl::StrCat("migration lock obtained after ", MillisecondsSince(start), " ms"));
          }
          return absl::OkStatus();
        }
      }
      const int waited = static_cast<int>(
          std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count());
      if (Clock::now() >= deadline) {
        LogLockHolder(waited, wait_seconds);
        return absl::DeadlineExceededError(absl::StrCat("migration lock not obtained within ",
                                                        wait_seconds, " s (see the holder above)"));
      }
      if (waited >= next_log_after) {
        LogLockHolder(waited, wait_seconds);
        next_log_after = waited + kLockLogEverySeconds;
      }
      if (!interrupts_->SleepFor(kLockPollInterval)) {
        return absl::CancelledError("interrupted while waiting for the migration lock");
      }
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot take the migration lock: ", Message(e)));
  }
}

void Database::Unlock() {
  if (!locked_) return;
  locked_ = false;
  try {
    pqxx::nontransaction tx(*connection_);
    tx.exec_params(kUnlock, kLockClass, kLockObject);
  } catch (const std::exception&) {
    // The session lock ends with the connection anyway.
  }
}

absl::Status Database::SetTimeouts(const std::string& lock_timeout,
                                   const std::string& statement_timeout) {
  try {
    pqxx::nontransaction tx(*connection_);
    tx.exec_params(kSetTimeouts, lock_timeout, statement_timeout);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("lock_timeout '", lock_timeout,
                                                   "' / statement_timeout '", statement_timeout,
                                                   "' rejected: ", Message(e)));
  }
}

absl::Status Database::Execute(const std::vector<BoundStatement>& statements,
                               const std::string& what) {
  try {
    pqxx::work tx(*connection_);
    for (const auto& statement : statements) Exec(tx, statement);
    tx.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    if (interrupts_->interrupted())
      return absl::CancelledError(absl::StrCat(what, ": interrupted"));
    return absl::InternalError(absl::StrCat(what, " failed: ", Message(e)));
  }
}

absl::Status Database::Apply(const std::vector<Migration>& chain, const Step& step,
                             const std::string& applied_by) {
  const Migration& m = *step.migration;
  const std::string what =
      absl::StrCat(step.up ? "migration '" : "undoing migration '", m.id, "' (", m.file_name, ")");
  const std::vector<std::string> statements = StepStatements(step);
  const auto start = Clock::now();
  size_t index = 0;
  auto failure = [&](const std::exception& e) {
    const std::string rolled_back =
        m.transactional
            ? "it was rolled back; earlier migrations stay applied"
            : absl::StrCat("it runs outside a transaction: its first ", index,
                           " statement(s) took effect and it is not recorded; it is written to "
                           "be run again");
    const std::string statement =
        index < statements.size() ? absl::StrCat("statement ", index + 1, " of ", statements.size(),
                                                 " [", Abbreviated(statements[index]), "]")
                                  : std::string("recording it");
    if (interrupts_->interrupted()) {
      return absl::CancelledError(
          absl::StrCat(what, " interrupted at ", statement, "; ", rolled_back));
    }
    return absl::InternalError(
        absl::StrCat(what, " failed at ", statement, ": ", Message(e), "; ", rolled_back));
  };
  try {
    if (m.transactional) {
      pqxx::work tx(*connection_);
      for (; index < statements.size(); ++index) {
        if (interrupts_->interrupted()) throw std::runtime_error("interrupted");
        tx.exec(statements[index]);
      }
      for (const auto& record : RecordStep(chain, step, applied_by, MillisecondsSince(start))) {
        Exec(tx, record);
      }
      tx.commit();
    } else {
      for (; index < statements.size(); ++index) {
        if (interrupts_->interrupted()) throw std::runtime_error("interrupted");
        pqxx::nontransaction tx(*connection_);
        tx.exec(statements[index]);
      }
      pqxx::work tx(*connection_);
      for (const auto& record : RecordStep(chain, step, applied_by, MillisecondsSince(start))) {
        Exec(tx, record);
      }
      tx.commit();
    }
  } catch (const std::exception& e) {
    return failure(e);
  }
  log_(absl::StrCat(step.up ? "applied " : "undid ", m.id, " in ", MillisecondsSince(start), " ms",
                    step.fixtures ? " (with fixtures)" : ""));
  return absl::OkStatus();
}

}  // namespace zeva::migrate
