// Parsing migration files, splitting SQL into statements, checksums, and the chain's order.

#include <catch2/catch.hpp>

#include "migrate/catalog.h"
#include "migrate/migration.h"

using namespace zeva::migrate;

namespace {
const char kFile[] =
    "-- id: 0006_x\n"
    "-- revises: 36600dac742e\n"
    "-- description: a thing: with colons\n"
    "-- A free comment: not a header field.\n"
    "\n"
    "-- migrate:up\n"
    "CREATE TABLE t (a int);\n"
    "-- migrate:fixtures-up\n"
    "INSERT INTO t VALUES (1);\n"
    "-- migrate:down\n"
    "DROP TABLE t;\n";

Migration Make(int number, std::string id, std::string revises) {
  Migration m;
  m.number = number;
  m.file_name = std::to_string(number) + "_m.sql";
  m.id = std::move(id);
  m.revises = std::move(revises);
  return m;
}
}  // namespace

TEST_CASE("a migration file parses into its header and sections", "[migrate]") {
  auto m = ParseMigration("0006_x.sql", kFile);
  REQUIRE(m.ok());
  CHECK(m->number == 6);
  CHECK(m->id == "0006_x");
  CHECK(m->revises == "36600dac742e");
  CHECK(m->description == "a thing: with colons");
  CHECK(m->transactional);
  CHECK(m->up == "CREATE TABLE t (a int);\n");
  CHECK(m->fixtures_up == "INSERT INTO t VALUES (1);\n");
  REQUIRE(m->down.has_value());
  CHECK(*m->down == "DROP TABLE t;\n");
  CHECK(m->checksum.size() == 64);
}

TEST_CASE("a file without a down section cannot be undone; transaction: none is read",
          "[migrate]") {
  auto m = ParseMigration(
      "0002_y.sql", "-- id: y\n-- revises: x\n-- transaction: none\n-- migrate:up\nSELECT 1;\n");
  REQUIRE(m.ok());
  CHECK_FALSE(m->down.has_value());
  CHECK_FALSE(m->transactional);
}

TEST_CASE("malformed migration files are rejected with the file and line", "[migrate]") {
  auto no_id = ParseMigration("0001_a.sql", "-- revises: base\n-- migrate:up\n");
  REQUIRE_FALSE(no_id.ok());
  CHECK(std::string(no_id.status().message()).find("0001_a.sql") != std::string::npos);

  CHECK_FALSE(ParseMigration("a.sql", "-- id: a\n-- revises: base\n-- migrate:up\n").ok());
  CHECK_FALSE(ParseMigration("0001_a.sql", "-- id: a\n-- revises: base\n").ok());  // no up
  CHECK_FALSE(ParseMigration("0001_a.sql", "-- id: a\n-- revises: base\nSELECT 1;\n-- migrate:up\n")
                  .ok());  // SQL in the header
  CHECK_FALSE(ParseMigration("0001_a.sql",
                             "-- id: a\n-- revises: base\n-- transacton: none\n"
                             "-- migrate:up\n")
                  .ok());  // misspelt field
  CHECK_FALSE(ParseMigration("0001_a.sql",
                             "-- id: a\n-- revises: base\n-- migrate:up\n"
                             "-- migrate:up\n")
                  .ok());  // section twice
  CHECK_FALSE(
      ParseMigration("0001_a.sql", "-- id: a\n-- revises: base\n-- migrate:sideways\n").ok());
  CHECK_FALSE(
      ParseMigration("0001_a.sql",
                     "-- id: 0123456789012345678901234567890123\n-- revises: base\n-- migrate:up\n")
          .ok());  // longer than alembic_version's 32 characters
  CHECK_FALSE(ParseMigration("0001_a.sql", "-- id: head\n-- revises: base\n-- migrate:up\n").ok());
}

TEST_CASE("the checksum covers what applying runs, not the down parts", "[migrate]") {
  auto base = ParseMigration("0006_x.sql", kFile);
  REQUIRE(base.ok());
  std::string edited_down(kFile);
  edited_down.replace(edited_down.find("DROP TABLE t;"), 13, "DROP TABLE IF EXISTS t;");
  std::string edited_up(kFile);
  edited_up.replace(edited_up.find("a int"), 5, "a bigint");
  std::string edited_fixture(kFile);
  edited_fixture.replace(edited_fixture.find("(1)"), 3, "(2)");
  std::string crlf;
  for (char c : std::string(kFile)) {
    if (c == '\n') crlf.push_back('\r');
    crlf.push_back(c);
  }
  CHECK(ParseMigration("0006_x.sql", edited_down)->checksum == base->checksum);
  CHECK(ParseMigration("0006_x.sql", crlf)->checksum == base->checksum);
  CHECK(ParseMigration("0006_x.sql", edited_up)->checksum != base->checksum);
  CHECK(ParseMigration("0006_x.sql", edited_fixture)->checksum != base->checksum);
}

TEST_CASE("SHA-256 matches a known vector", "[migrate]") {
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("statements split at top-level semicolons only", "[migrate]") {
  const auto s = SplitStatements(
      "-- leading comment; not a split\n"
      "CREATE TABLE a (x text DEFAULT 'a;b''c');\n"
      "COMMENT ON TABLE a IS E'it\\'s; fine';\n"
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
      "SELECT \"odd;name\" FROM a /* a; /* nested; */ comment */;\n"
      "  ;  -- empty statement and a trailing comment\n"
      "SELECT $$x;y$$");
  REQUIRE(s.size() == 5);
  CHECK(s[0] == "-- leading comment; not a split\nCREATE TABLE a (x text DEFAULT 'a;b''c')");
  CHECK(s[1] == "COMMENT ON TABLE a IS E'it\\'s; fine'");
  CHECK(s[2] == "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql");
  CHECK(s[3] == "SELECT \"odd;name\" FROM a /* a; /* nested; */ comment */");
  CHECK(s[4] == "-- empty statement and a trailing comment\nSELECT $$x;y$$");
  CHECK(SplitStatements("-- only a comment\n\n").empty());
  // A positional parameter is not a dollar quote.
  CHECK(SplitStatements("SELECT $1; SELECT $2").size() == 2);
}

TEST_CASE("the chain is ordered by number and each file revises the one before", "[migrate]") {
  auto ok = BuildChain({Make(2, "b", "a"), Make(1, "a", "base"), Make(3, "c", "b")});
  REQUIRE(ok.ok());
  CHECK((*ok)[0].id == "a");
  CHECK((*ok)[2].id == "c");
  CHECK(IndexOf(*ok, "b") == 1);
  CHECK(IndexOf(*ok, "zz") == -1);

  CHECK_FALSE(BuildChain({Make(1, "a", "base"), Make(3, "c", "a")}).ok());     // gap
  CHECK_FALSE(BuildChain({Make(1, "a", "base"), Make(1, "b", "base")}).ok());  // repeat
  CHECK_FALSE(BuildChain({Make(1, "a", "base"), Make(2, "a", "a")}).ok());     // same id
  CHECK_FALSE(BuildChain({Make(1, "a", "base"), Make(2, "b", "x")}).ok());     // wrong parent
  CHECK_FALSE(BuildChain({Make(1, "a", "nothing")}).ok());                     // first
}

TEST_CASE("the repository's migrations form a valid chain that keeps the alembic ids",
          "[migrate]") {
  auto chain = LoadChain(std::string(ZEVA_SOURCE_DIR) + "/migrations");
  REQUIRE(chain.ok());
  REQUIRE(chain->size() >= 8);
  const std::vector<std::string> alembic = {"beadb98386c8", "df6d9e741373", "d7f8be4ac865",
                                            "a9f0bc6dbe92", "36600dac742e"};
  for (size_t i = 0; i < alembic.size(); ++i) CHECK((*chain)[i].id == alembic[i]);
  for (const auto& m : *chain) {
    INFO(m.file_name);
    CHECK(m.down.has_value());  // every migration so far is reversible
  }
  // The fixture-only alembic revisions change no schema.
  CHECK(SplitStatements((*chain)[2].up).empty());
  CHECK(SplitStatements((*chain)[4].up).empty());
}
