// zeva-migrate end to end: the real binary against a real PostgreSQL.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_join.h"
#include "migrate/bookkeeping.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/server_process.h"

using namespace zeva::testing;
namespace fs = std::filesystem;

namespace {

std::string RepoMigrations() { return SourceDir() + "/migrations"; }

// The ids of the repository's migrations in order, from their `-- id:` lines: tests of the
// whole chain follow it as migrations are added.
std::vector<std::string> RepoMigrationIds() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(RepoMigrations())) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> ids;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    // Read at start-up, outside any test case: a bad file stops the binary loudly.
    if (first.rfind("-- id: ", 0) != 0) throw std::runtime_error(file + " has no -- id: line");
    ids.push_back(first.substr(7));
  }
  return ids;
}

const std::vector<std::string> kIds = RepoMigrationIds();
const std::string kHead = kIds.back();
const int kCount = static_cast<int>(kIds.size());
const std::string kHeadFile = kHead + ".sql";
// The id a test's own migration after the head must have: the next number, four digits.
std::string NextId(const std::string& name) {
  std::string number = std::to_string(kCount + 1);
  return std::string(4 - number.size(), '0') + number + "_" + name;
}
const std::string kBroken = NextId("broken");
const std::string kSlow = NextId("slow");
const std::string kSleepy = NextId("sleepy");

// Runs zeva-migrate on `url` with the repository's migrations and no fixtures unless asked.
CommandResult Migrate(const std::string& url, std::vector<std::string> args,
                      std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), MigrateBinary());
  env.emplace("DATABASE_URL", url);
  env.emplace("MIGRATIONS_DIR", RepoMigrations());
  env.emplace("LOAD_TEST_FIXTURES", "");
  env.emplace("MIGRATE_LOCK_WAIT_SECONDS", "");
  return RunCommand(args, env);
}

std::string Query(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  const pqxx::result rows = tx.exec(sql);
  if (rows.empty() || rows[0][0].is_null()) return "(null)";
  return rows[0][0].as<std::string>();
}

int Count(const std::string& url, const std::string& sql) { return std::stoi(Query(url, sql)); }

bool HasTable(const std::string& url, const std::string& table) {
  return Query(url, "SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

int UserTables(const std::string& url) {
  return Count(url,
               "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN "
               "('alembic_version', 'zeva_schema_history')");
}

// The schema as pg_dump sees it (no data, owners or privileges).
std::string Schema(const std::string& url) {
  CommandResult dump =
      RunCommand({"pg_dump", "--schema-only", "--no-owner", "--no-privileges", url});
  REQUIRE(dump.exit_code == 0);
  // Newer pg_dump brackets its output with \restrict KEY lines, the key random per run.
  std::string schema;
  std::istringstream lines(dump.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("\\restrict", 0) != 0 && line.rfind("\\unrestrict", 0) != 0) {
      schema += line + "\n";
    }
  }
  return schema;
}

// A copy of the repository's migrations in a temporary folder, for tests that edit them.
struct MigrationsCopy {
  TempDir dir;
  MigrationsCopy() {
    for (const auto& entry : fs::directory_iterator(RepoMigrations())) {
      fs::copy_file(entry.path(), fs::path(dir.path()) / entry.path().filename());
    }
  }
  std::string path() const { return dir.path(); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(fs::path(dir.path()) / name) << text;
  }
  void Append(const std::string& name, const std::string& text) const {
    std::ofstream(fs::path(dir.path()) / name, std::ios::app) << text;
  }
};

std::string NextMigration(const std::string& id, const std::string& up) {
  return "-- id: " + id + "\n-- revises: " + kHead + "\n-- description: test\n-- migrate:up\n" +
         up + "\n-- migrate:down\n";
}

// The alembic chain at 36600dac742e as SQLAlchemy created it, with rows of its own.
const char kAlembicEra[] = R"(
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TYPE v1transactiontypes AS ENUM ('VALIDATION', 'REDUCTION', 'SOLD', 'BOUGHT');
CREATE TABLE transactions (id BIGSERIAL NOT NULL, type v1transactiontypes NOT NULL,
  credits INTEGER NOT NULL, transaction_amount BIGINT NOT NULL,
  created TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  updated TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL, PRIMARY KEY (id));
CREATE TABLE organizations (id BIGSERIAL NOT NULL, name VARCHAR(200) NOT NULL,
  created TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  updated TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  PRIMARY KEY (id), UNIQUE (name), CHECK (length(name) > 3));
CREATE TABLE vehicles (id BIGSERIAL NOT NULL, organization_id BIGINT NOT NULL,
  type VARCHAR(100) NOT NULL, make VARCHAR(100) NOT NULL, model VARCHAR(100) NOT NULL,
  "trim" VARCHAR(100) NOT NULL, range INTEGER NOT NULL, credits NUMERIC(10, 2) NOT NULL,
  created TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  updated TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  PRIMARY KEY (id), FOREIGN KEY(organization_id) REFERENCES organizations (id),
  CHECK (range > 0), CHECK (credits > 0));
CREATE TABLE users (username VARCHAR NOT NULL, organization_id BIGINT NOT NULL,
  created TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  updated TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
  PRIMARY KEY (username), FOREIGN KEY(organization_id) REFERENCES organizations (id));
INSERT INTO transactions (type, credits, transaction_amount)
  VALUES ('BOUGHT', 100, 100), ('SOLD', 200, 200), ('BOUGHT', 200, 300), ('VALIDATION', 7, 0);
INSERT INTO organizations (name) VALUES ('Test Vehicle Supplier 1'), ('Real Motors Ltd');
INSERT INTO users (username, organization_id) VALUES ('test_vs_1', 1), ('real_user', 2);
INSERT INTO vehicles (organization_id, type, make, model, "trim", range, credits)
  VALUES (1, 'BEV', 'Optimus Prime', 'Model A', 'XL', 150, 100.2),
         (2, 'BEV', 'Real', 'Roadster', 'Base', 400, 3.0);
INSERT INTO alembic_version (version_num) VALUES ('36600dac742e');
)";

void RunSql(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction tx(connection);
  tx.exec(sql);
}

}  // namespace

TEST_CASE("a fresh database goes to head, once; current prints the head", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  CommandResult first = Migrate(url, {"upgrade"});
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history") == kCount);
  CHECK(Count(url,
              "SELECT count(*) FROM zeva_schema_history WHERE length(checksum) = 64 AND "
              "applied_by LIKE '%zeva-migrate pid%' AND duration_ms >= 0 AND NOT adopted "
              "AND fixtures = false") == kCount);
  const std::string applied =
      Query(url, "SELECT string_agg(id, ',' ORDER BY seq) FROM zeva_schema_history");
  CHECK(applied.rfind(
            "beadb98386c8,df6d9e741373,d7f8be4ac865,a9f0bc6dbe92,36600dac742e,"
            "0006_organization_type,0007_transaction_organization,0008_vehicles_identity_key,"
            "0009_credit_ledger,0010_credit_transfers,0011_notifications,0012_outbox_delivery,"
            "0013_change_notifications",
            0) == 0);
  CHECK(applied == absl::StrJoin(kIds, ","));
  // Without fixtures, not one fixture row.
  for (const char* table : {"transactions", "organizations", "vehicles", "users"}) {
    INFO(table);
    CHECK(Count(url, std::string("SELECT count(*) FROM ") + table) == 0);
  }
  // The new schema: organization type, owning organization, vehicle identity.
  CHECK(Query(url,
              "SELECT column_default FROM information_schema.columns WHERE table_name = "
              "'organizations' AND column_name = 'organization_type'") ==
        "'VEHICLE_SUPPLIER'::organization_type");
  CHECK(Query(url,
              "SELECT is_nullable FROM information_schema.columns WHERE table_name = "
              "'transactions' AND column_name = 'organization_id'") == "YES");
  CHECK(Query(url,
              "SELECT indisunique FROM pg_index WHERE indexrelid = "
              "'vehicles_identity_key'::regclass") == "t");

  CommandResult second = Migrate(url, {"upgrade", "head"});
  INFO(second.output);
  CHECK(second.exit_code == 0);
  CHECK(second.output.find("nothing to do") != std::string::npos);
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history") == kCount);

  CommandResult current = Migrate(url, {"current"});
  CHECK(current.exit_code == 0);
  CHECK(current.output.find(kHead + " (head)") != std::string::npos);
  CommandResult check = Migrate(url, {"check", "--head"});
  CHECK(check.exit_code == 0);
  CommandResult history = Migrate(url, {"history"});
  CHECK(history.exit_code == 0);
  CHECK(history.output.find("[x] " + kHead.substr(0, 4) + " " + kHead) != std::string::npos);
}

TEST_CASE("fixtures load only when asked, tied to their migrations", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  CommandResult result = Migrate(url, {"upgrade"}, {{"LOAD_TEST_FIXTURES", "True"}});
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(Count(url,
              "SELECT count(*) FROM transactions t JOIN organizations o ON "
              "o.id = t.organization_id WHERE o.name = 'Test Vehicle Supplier 1'") == 3);
  CHECK(Count(url, "SELECT count(*) FROM transactions") == 3);
  CHECK(Count(url, "SELECT count(*) FROM organizations") == 4);
  CHECK(Query(url,
              "SELECT organization_type FROM organizations WHERE name = "
              "'Government of British Columbia'") == "GOVERNMENT");
  CHECK(Query(url,
              "SELECT o.name FROM users u JOIN organizations o ON o.id = u.organization_id "
              "WHERE u.username = 'test_gov_1'") == "Government of British Columbia");
  CHECK(Query(url,
              "SELECT o.organization_type FROM users u JOIN organizations o ON "
              "o.id = u.organization_id WHERE u.username = 'test_vs_2'") == "VEHICLE_SUPPLIER");
  CHECK(Count(url,
              "SELECT count(*) FROM vehicles v JOIN organizations o ON "
              "o.id = v.organization_id WHERE o.name = 'Test Vehicle Supplier 1'") == 3);
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history WHERE fixtures") == kCount);

  // Fixtures are never loaded late onto migrations applied without them.
  const std::string plain = PostgresServer::Shared().CreateDatabase();
  REQUIRE(Migrate(plain, {"upgrade", "0006_organization_type"}).exit_code == 0);
  CommandResult late = Migrate(plain, {"upgrade", "--fixtures"});
  INFO(late.output);
  CHECK(late.exit_code == 3);
  CHECK(late.output.find("applied without them") != std::string::npos);
  CHECK(Count(plain, "SELECT count(*) FROM organizations") == 0);
  CHECK(Query(plain, "SELECT version_num FROM alembic_version") == "0006_organization_type");
}

TEST_CASE("downgrade base then upgrade head round-trips", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  REQUIRE(Migrate(url, {"upgrade"}, {{"LOAD_TEST_FIXTURES", "True"}}).exit_code == 0);
  const std::string at_head = Schema(url);

  CommandResult partial = Migrate(url, {"downgrade", "a9f0bc6dbe92"});
  INFO(partial.output);
  REQUIRE(partial.exit_code == 0);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == "a9f0bc6dbe92");
  CHECK(Count(url, "SELECT count(*) FROM users") == 0);         // fixtures of 5 and 6 removed
  CHECK(Count(url, "SELECT count(*) FROM transactions") == 3);  // those of 3 stay

  CommandResult down = Migrate(url, {"downgrade", "base"});
  INFO(down.output);
  REQUIRE(down.exit_code == 0);
  CHECK(UserTables(url) == 0);
  CHECK(Count(url,
              "SELECT count(*) FROM pg_type WHERE typname IN "
              "('v1transactiontypes', 'organization_type')") == 0);
  CHECK(Count(url, "SELECT count(*) FROM alembic_version") == 0);
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history") == 0);
  CHECK(Migrate(url, {"current"}).output.find("base") != std::string::npos);

  CommandResult up = Migrate(url, {"upgrade", "head"});
  INFO(up.output);
  REQUIRE(up.exit_code == 0);
  CHECK(Schema(url) == at_head);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
  // Targets in the wrong direction are refused; unknown ones are usage errors.
  CHECK(Migrate(url, {"upgrade", "a9f0bc6dbe92"}).exit_code == 3);
  CHECK(Migrate(url, {"downgrade", "nosuchid"}).exit_code == 2);
}

TEST_CASE("upgrade --sql touches nothing, and its output builds the same schema", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  CommandResult script = Migrate(url, {"upgrade", "head", "--sql"});
  REQUIRE(script.exit_code == 0);
  CHECK(script.output.find("CREATE UNIQUE INDEX CONCURRENTLY vehicles_identity_key") !=
        std::string::npos);
  CHECK(script.output.find("Test Vehicle Supplier") == std::string::npos);  // no fixtures
  CHECK_FALSE(HasTable(url, "zeva_schema_history"));
  CHECK_FALSE(HasTable(url, "alembic_version"));
  CHECK(UserTables(url) == 0);

  // Only stdout is the script: write it through a file to psql.
  TempDir dir;
  const std::string file = dir.path() + "/upgrade.sql";
  CommandResult to_file = RunCommand(
      {"bash", "-c", "\"$0\" upgrade head --sql > \"$1\"", MigrateBinary(), file},
      {{"MIGRATIONS_DIR", RepoMigrations()}, {"DATABASE_URL", ""}, {"LOAD_TEST_FIXTURES", ""}});
  REQUIRE(to_file.exit_code == 0);
  const std::string fed = PostgresServer::Shared().CreateDatabase();
  CommandResult psql = RunCommand({"psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", fed, "-f", file});
  INFO(psql.output);
  REQUIRE(psql.exit_code == 0);

  REQUIRE(Migrate(url, {"upgrade"}).exit_code == 0);
  CHECK(Schema(fed) == Schema(url));
  // The script also recorded what it did, so the runner sees the database at head.
  CommandResult check = Migrate(fed, {"check", "--head"});
  INFO(check.output);
  CHECK(check.exit_code == 0);
  CHECK(Migrate(fed, {"upgrade"}).output.find("nothing to do") != std::string::npos);

  // Downgrade --sql, too, only prints.
  CommandResult down = Migrate(url, {"downgrade", "base", "--sql"});
  CHECK(down.exit_code == 0);
  CHECK(down.output.find("DROP TABLE transactions") != std::string::npos);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
}

TEST_CASE("an alembic-era database at 36600dac742e is adopted without losing a row", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  RunSql(url, kAlembicEra);
  CommandResult result = Migrate(url, {"upgrade"});
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(result.output.find("adopting") != std::string::npos);
  // Nothing of 1-5 ran again.
  for (const char* id :
       {"beadb98386c8", "df6d9e741373", "d7f8be4ac865", "a9f0bc6dbe92", "36600dac742e"}) {
    CHECK(result.output.find(std::string("applying ") + id) == std::string::npos);
  }
  CHECK(Count(url,
              "SELECT count(*) FROM zeva_schema_history WHERE adopted AND fixtures IS NULL "
              "AND applied_by LIKE 'alembic%'") == 5);
  // Everything after the five alembic-era migrations ran.
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history WHERE NOT adopted") == kCount - 5);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
  // Every row is still there.
  CHECK(Count(url, "SELECT count(*) FROM transactions") == 4);
  CHECK(Count(url, "SELECT count(*) FROM transactions WHERE organization_id IS NULL") == 4);
  CHECK(Count(url,
              "SELECT count(*) FROM organizations WHERE organization_type = "
              "'VEHICLE_SUPPLIER'") == 2);
  CHECK(Query(url, "SELECT string_agg(username, ',' ORDER BY username) FROM users") ==
        "real_user,test_vs_1");
  CHECK(Query(url, "SELECT credits::text FROM vehicles WHERE model = 'Roadster'") == "3.00");
  CHECK(Count(url, "SELECT count(*) FROM vehicles") == 2);

  // It ends in the same schema as a fresh database.
  const std::string fresh = PostgresServer::Shared().CreateDatabase();
  REQUIRE(Migrate(fresh, {"upgrade"}).exit_code == 0);
  CHECK(Schema(url) == Schema(fresh));
}

TEST_CASE("unknown alembic revisions and tables without a version are refused", "[migrate]") {
  const std::string unknown = PostgresServer::Shared().CreateDatabase();
  RunSql(unknown,
         "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
         "INSERT INTO alembic_version VALUES ('ffffffffffff');");
  CommandResult refused = Migrate(unknown, {"upgrade"});
  INFO(refused.output);
  CHECK(refused.exit_code == 3);
  CHECK(refused.output.find("'ffffffffffff'") != std::string::npos);
  CHECK_FALSE(HasTable(unknown, "zeva_schema_history"));
  CHECK(Migrate(unknown, {"check"}).exit_code == 3);
  CHECK(Migrate(unknown, {"current"}).exit_code == 3);

  const std::string unversioned = PostgresServer::Shared().CreateDatabase();
  RunSql(unversioned, "CREATE TABLE users (username varchar PRIMARY KEY)");
  CommandResult tables = Migrate(unversioned, {"upgrade"});
  INFO(tables.output);
  CHECK(tables.exit_code == 3);
  CHECK(tables.output.find("users") != std::string::npos);
  CHECK_FALSE(HasTable(unversioned, "zeva_schema_history"));
  CHECK_FALSE(HasTable(unversioned, "alembic_version"));
}

TEST_CASE("check detects edited, missing and unknown migrations; upgrade refuses them",
          "[migrate]") {
  MigrationsCopy copy;
  const std::string url = PostgresServer::Shared().CreateDatabase();
  const std::map<std::string, std::string> env = {{"MIGRATIONS_DIR", copy.path()}};
  REQUIRE(Migrate(url, {"upgrade", "0007_transaction_organization"}, env).exit_code == 0);
  CHECK(Migrate(url, {"check"}, env).exit_code == 0);
  CommandResult behind = Migrate(url, {"check", "--head"}, env);
  CHECK(behind.exit_code == 5);
  CHECK(behind.output.find(std::to_string(kCount - 7) + " pending") != std::string::npos);

  // Edited: a changed `up` of an applied migration.
  const fs::path original = fs::path(copy.path()) / "0004_a9f0bc6dbe92.sql";
  const fs::path saved = fs::path(copy.path()) / "0004.saved";
  fs::copy_file(original, saved);
  std::string text;
  {
    std::ifstream in(original);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("varchar(200)"), 12, "varchar(250)");
  copy.Write("0004_a9f0bc6dbe92.sql", text);
  CommandResult edited = Migrate(url, {"check"}, env);
  INFO(edited.output);
  CHECK(edited.exit_code == 3);
  CHECK(edited.output.find("'a9f0bc6dbe92'") != std::string::npos);
  CHECK(edited.output.find("edited") != std::string::npos);
  CommandResult upgrade = Migrate(url, {"upgrade"}, env);
  CHECK(upgrade.exit_code == 3);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == "0007_transaction_organization");
  fs::rename(saved, original);
  CHECK(Migrate(url, {"check"}, env).exit_code == 0);

  // Missing / unknown: the database is ahead of these files (an older build).
  REQUIRE(Migrate(url, {"upgrade"}, env).exit_code == 0);
  fs::remove(fs::path(copy.path()) / kHeadFile);
  CommandResult missing = Migrate(url, {"check"}, env);
  INFO(missing.output);
  CHECK(missing.exit_code == 3);
  CHECK(missing.output.find("'" + kHead + "' has no file") != std::string::npos);
  CHECK(Migrate(url, {"upgrade"}, env).exit_code == 3);
  CHECK(Migrate(url, {"check", "--head"}, env).exit_code == 3);
}

TEST_CASE("a broken migration rolls back completely and names the statement", "[migrate]") {
  MigrationsCopy copy;
  copy.Write(
      kBroken + ".sql",
      NextMigration(kBroken, "CREATE TABLE half_done (a int);\nSELECT * FROM no_such_table;"));
  const std::string url = PostgresServer::Shared().CreateDatabase();
  CommandResult result = Migrate(url, {"upgrade"}, {{"MIGRATIONS_DIR", copy.path()}});
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("'" + kBroken + "'") != std::string::npos);
  CHECK(result.output.find("statement 2 of 2") != std::string::npos);
  CHECK(result.output.find("no_such_table") != std::string::npos);
  CHECK(result.output.find("does not exist") != std::string::npos);  // PostgreSQL's message
  CHECK_FALSE(HasTable(url, "half_done"));
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history WHERE id = '" + kBroken + "'") == 0);
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history") == kCount);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
}

TEST_CASE("eight runners started together apply each migration exactly once", "[migrate]") {
  // A slow last migration makes sure the runners really overlap.
  MigrationsCopy copy;
  copy.Write(kSlow + ".sql", NextMigration(kSlow, "SELECT pg_sleep(1);"));
  const std::string url = PostgresServer::Shared().CreateDatabase();
  TempDir logs;
  CommandResult result = RunCommand(
      {"bash", "-c",
       // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one script in two literals
       "pids=(); for i in 1 2 3 4 5 6 7 8; do \"$0\" upgrade > \"$1/$i.log\" 2>&1 & pids+=($!); "
       "done; for p in \"${pids[@]}\"; do wait $p; echo \"exit=$?\"; done; cat \"$1\"/*.log",
       MigrateBinary(), logs.path()},
      {{"DATABASE_URL", url}, {"MIGRATIONS_DIR", copy.path()}, {"LOAD_TEST_FIXTURES", ""}});
  INFO(result.output);
  auto occurrences = [&result](const std::string& text) {
    int n = 0;
    for (size_t at = result.output.find(text); at != std::string::npos;
         at = result.output.find(text, at + 1)) {
      ++n;
    }
    return n;
  };
  CHECK(occurrences("exit=0") == 8);
  CHECK(occurrences("applying df6d9e741373") == 1);
  CHECK(occurrences("applying " + kSlow) == 1);
  CHECK(occurrences("nothing to do") == 7);
  CHECK(occurrences("migration lock held by pid") >= 1);  // waiters named the holder
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history") == kCount + 1);
  CHECK(Count(url, "SELECT count(DISTINCT applied_by) FROM zeva_schema_history") == 1);
}

TEST_CASE("a runner that cannot get the lock in time exits 4 naming the holder", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  pqxx::connection holder(url + "?application_name=lock-holder-test");
  const std::string holder_pid = std::to_string(holder.backendpid());
  {
    pqxx::nontransaction tx(holder);
    tx.exec_params("SELECT pg_advisory_lock($1, $2)", zeva::migrate::kLockClass,
                   zeva::migrate::kLockObject);
  }
  CommandResult result = Migrate(url, {"upgrade", "--lock-wait=1"});
  INFO(result.output);
  CHECK(result.exit_code == 4);
  CHECK(result.output.find("pid " + holder_pid) != std::string::npos);
  CHECK(result.output.find("lock-holder-test") != std::string::npos);
  CHECK(result.output.find("connected since 20") != std::string::npos);
  CHECK_FALSE(HasTable(url, "zeva_schema_history"));

  // A waiter holds no transaction open while it waits; once the lock is free it proceeds.
  std::atomic<int> exit_code{-100};
  std::thread waiter([&] { exit_code = Migrate(url, {"upgrade", "--lock-wait=30"}).exit_code; });
  int samples = 0, in_transaction = 0;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // samples the waiter for 2 s
    const std::string states =
        Query(url,
              "SELECT coalesce(string_agg(coalesce(state, '') || '/' || "
              "(backend_xid IS NOT NULL)::text, ','), '') FROM pg_stat_activity "
              "WHERE application_name = 'zeva-migrate'");
    if (states.empty() || states == "(null)") continue;
    ++samples;
    if (states.find("idle in transaction") != std::string::npos ||
        states.find("/true") != std::string::npos) {
      ++in_transaction;
    }
  }
  CHECK(samples > 10);
  CHECK(in_transaction == 0);
  {
    pqxx::nontransaction tx(holder);
    tx.exec_params("SELECT pg_advisory_unlock($1, $2)", zeva::migrate::kLockClass,
                   zeva::migrate::kLockObject);
  }
  waiter.join();
  CHECK(exit_code == 0);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
}

TEST_CASE("SIGTERM cancels the running statement, rolls back and releases the lock", "[migrate]") {
  MigrationsCopy copy;
  copy.Write(kSleepy + ".sql", NextMigration(kSleepy, "SELECT pg_sleep(60);"));
  const std::string url = PostgresServer::Shared().CreateDatabase();
  TempDir logs;
  const auto start = std::chrono::steady_clock::now();
  CommandResult result = RunCommand(
      {"bash", "-c",
       // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one script in three literals
       "\"$0\" upgrade > \"$1\" 2>&1 & p=$!; for i in $(seq 100); do sleep 0.1; "
       "grep -q 'applying " +
           kSleepy +
           "' \"$1\" && break; done; sleep 0.3; "
           "kill -TERM $p; wait $p; echo \"exit=$?\"; cat \"$1\"",
       MigrateBinary(), logs.path() + "/runner.log"},
      {{"DATABASE_URL", url}, {"MIGRATIONS_DIR", copy.path()}, {"LOAD_TEST_FIXTURES", ""}});
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  INFO(result.output);
  CHECK(result.output.find("exit=1") != std::string::npos);
  CHECK(result.output.find("interrupted") != std::string::npos);
  CHECK(seconds < 30);
  CHECK(Count(url, "SELECT count(*) FROM zeva_schema_history") == kCount);
  CHECK(Count(url,
              "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' "
              "AND pid <> pg_backend_pid()") == 0);
  CHECK(Query(url, "SELECT pg_try_advisory_lock(" + std::to_string(zeva::migrate::kLockClass) +
                       ", " + std::to_string(zeva::migrate::kLockObject) + ")") == "t");
}

TEST_CASE("--wait retries the first connection; usage errors exit 2", "[migrate]") {
  const auto start = std::chrono::steady_clock::now();
  CommandResult result =
      Migrate("postgresql://zeva:secret@127.0.0.1:1/zeva", {"current", "--wait=2"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("retrying") != std::string::npos);
  CHECK(elapsed >= std::chrono::seconds(2));
  CHECK(result.output.find("secret") == std::string::npos);

  for (const char* verb : {"upgrade", "downgrade", "current", "history", "check"}) {
    CommandResult help = RunCommand({MigrateBinary(), verb, "--help"});
    INFO(verb);
    CHECK(help.exit_code == 0);
    CHECK(help.output.find(std::string("zeva-migrate ") + verb) != std::string::npos);
    CHECK(help.output.find("Exit codes") != std::string::npos);
  }
  CHECK(RunCommand({MigrateBinary()}).exit_code == 2);
  CHECK(RunCommand({MigrateBinary(), "sideways"}).exit_code == 2);
  CHECK(RunCommand({MigrateBinary(), "current", "--sql"}).exit_code == 2);
}

TEST_CASE(
    "with no flags the runner finds the migrations from the repository root or beside "
    "the binary",
    "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  CommandResult result =
      RunCommand({"bash", "-c", "cd \"$0\" && \"$1\" upgrade", SourceDir(), MigrateBinary()},
                 {{"DATABASE_URL", url}, {"MIGRATIONS_DIR", ""}, {"LOAD_TEST_FIXTURES", ""}});
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == kHead);
  // A copy of the binary with no migrations beside it says where it looked.
  TempDir elsewhere;
  fs::copy_file(MigrateBinary(), elsewhere.path() + "/zeva-migrate");
  CommandResult lost =
      RunCommand({"bash", "-c", "cd \"$0\" && ./zeva-migrate check", elsewhere.path()},
                 {{"DATABASE_URL", url}, {"MIGRATIONS_DIR", ""}});
  INFO(lost.output);
  if (!fs::is_directory("/usr/share/zeva/migrations")) {
    CHECK(lost.exit_code == 1);
    CHECK(lost.output.find("/usr/share/zeva/migrations") != std::string::npos);
  } else {
    CHECK(lost.exit_code == 0);  // found the installed copy
  }
}

TEST_CASE("a migration stuck behind live traffic fails fast with --lock-timeout", "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  REQUIRE(Migrate(url, {"upgrade", "0006_organization_type"}).exit_code == 0);
  // Live traffic: an open transaction that has read transactions (ACCESS SHARE).
  pqxx::connection traffic(url);
  pqxx::work reading(traffic);
  reading.exec("SELECT count(*) FROM transactions");
  const auto start = std::chrono::steady_clock::now();
  CommandResult result = Migrate(url, {"upgrade", "--lock-timeout=300ms"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK(result.output.find("'0007_transaction_organization'") != std::string::npos);
  CHECK(result.output.find("lock timeout") != std::string::npos);
  CHECK(elapsed < std::chrono::seconds(5));
  reading.abort();
  CHECK(Query(url, "SELECT version_num FROM alembic_version") == "0006_organization_type");
  CHECK(Migrate(url, {"upgrade"}).exit_code == 0);
}

TEST_CASE("zeva-migrate audit: exit 0 on a sound ledger, 1 and one line per violation",
          "[migrate]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  REQUIRE(Migrate(url, {"upgrade"}, {{"LOAD_TEST_FIXTURES", "True"}}).exit_code == 0);
  CommandResult sound = Migrate(url, {"audit"});
  INFO(sound.output);
  CHECK(sound.exit_code == 0);
  CHECK(sound.output.find("ok: the credit ledger's invariants hold") != std::string::npos);
  // A balance no journal explains (only a writer outside the service could make it) and a
  // reservation no transfer holds: two violations, one line each (written with the triggers
  // off: 0018 refuses the first otherwise).
  Query(url,
        "SET session_replication_role = replica;"
        "INSERT INTO credit_accounts (organization_id, model_year, credit_class, posted, reserved)"
        " SELECT id, 2021, 'A', 500, 100 FROM organizations WHERE name = 'Test Vehicle Supplier 1'"
        " RETURNING 1");
  CommandResult broken = Migrate(url, {"audit"});
  INFO(broken.output);
  CHECK(broken.exit_code == 1);
  size_t lines = 0;
  for (size_t at = broken.output.find("violation: "); at != std::string::npos;
       at = broken.output.find("violation: ", at + 1)) {
    ++lines;
  }
  CHECK(lines >= 2);
  CHECK(broken.output.find("2021") != std::string::npos);
  CHECK(Migrate(url, {"audit", "--outbox"}).exit_code == 1);
  // Without a database it is a usage error, never a clean bill.
  CHECK(Migrate("", {"audit"}).exit_code == 2);
}
