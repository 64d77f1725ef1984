// Assessing a database's state against the chain, planning steps, and rendering --sql.

#include <catch2/catch.hpp>

#include "migrate/bookkeeping.h"
#include "migrate/plan.h"

using namespace zeva::migrate;

namespace {

std::vector<Migration> Chain(int n) {
  std::vector<Migration> chain;
  for (int i = 1; i <= n; ++i) {
    Migration m;
    m.number = i;
    m.id = "m" + std::to_string(i);
    m.file_name = "000" + std::to_string(i) + "_m.sql";
    m.revises = i == 1 ? "base" : "m" + std::to_string(i - 1);
    m.description = "migration " + std::to_string(i);
    m.up = "CREATE TABLE t" + std::to_string(i) + " (a int);\n";
    m.down = "DROP TABLE t" + std::to_string(i) + ";\n";
    m.fixtures_up = "INSERT INTO t" + std::to_string(i) + " VALUES (1);\n";
    m.checksum = Checksum(m);
    chain.push_back(m);
  }
  return chain;
}

DbState History(const std::vector<Migration>& chain, int applied, bool fixtures = false) {
  DbState state;
  state.has_history_table = state.has_alembic_table = true;
  for (int i = 0; i < applied; ++i) {
    HistoryRow row;
    row.id = chain[i].id;
    row.seq = i + 1;
    row.checksum = chain[i].checksum;
    row.fixtures = fixtures;
    state.history.push_back(row);
  }
  if (applied > 0) state.alembic_versions = {chain[applied - 1].id};
  state.other_tables = {"t1"};
  return state;
}

DbState Alembic(std::vector<std::string> versions, std::vector<std::string> tables = {"t1"}) {
  DbState state;
  state.has_alembic_table = true;
  state.alembic_versions = std::move(versions);
  state.other_tables = std::move(tables);
  return state;
}

bool Mentions(const Assessment& at, const std::string& text) {
  for (const auto& p : at.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("an empty database is at base", "[migrate]") {
  const auto chain = Chain(3);
  const Assessment at = Assess(chain, DbState{});
  CHECK(at.problems.empty());
  CHECK(at.applied == 0);
  CHECK_FALSE(at.adopt);
  auto plan = PlanUpgrade(chain, at, 3, false);
  REQUIRE(plan.ok());
  REQUIRE(plan->steps.size() == 3);
  CHECK(plan->steps[0].migration->id == "m1");
  CHECK(plan->steps[2].seq == 3);
}

TEST_CASE("a database with history continues where it stopped; at head nothing to do",
          "[migrate]") {
  const auto chain = Chain(3);
  const Assessment at = Assess(chain, History(chain, 2));
  CHECK(at.problems.empty());
  CHECK(at.applied == 2);
  auto plan = PlanUpgrade(chain, at, 3, false);
  REQUIRE(plan.ok());
  REQUIRE(plan->steps.size() == 1);
  CHECK(plan->steps[0].migration->id == "m3");
  auto none = PlanUpgrade(chain, Assess(chain, History(chain, 3)), 3, false);
  REQUIRE(none.ok());
  CHECK(none->steps.empty());
  CHECK_FALSE(none->adopt);
}

TEST_CASE("an alembic-era database at a chain revision is adopted, not re-run", "[migrate]") {
  const auto chain = Chain(4);
  const Assessment at = Assess(chain, Alembic({"m2"}));
  CHECK(at.problems.empty());
  CHECK(at.adopt);
  CHECK(at.applied == 2);
  auto plan = PlanUpgrade(chain, at, 4, false);
  REQUIRE(plan.ok());
  CHECK(plan->adopt);
  REQUIRE(plan->steps.size() == 2);
  CHECK(plan->steps[0].migration->id == "m3");
  // Fixtures of adopted revisions are unknown: fixtures may still be requested.
  CHECK(PlanUpgrade(chain, at, 4, true).ok());
}

TEST_CASE("unexpected database states are refused", "[migrate]") {
  const auto chain = Chain(3);
  CHECK(Mentions(Assess(chain, Alembic({"ffffffffffff"})), "ffffffffffff"));
  CHECK(Mentions(Assess(chain, Alembic({"m1", "m2"})), "several revisions"));
  CHECK(Mentions(Assess(chain, Alembic({}, {"users", "vehicles"})), "users, vehicles"));
  CHECK(Mentions(Assess(chain, Alembic({}, {"users"})), "neither"));
  // alembic at base with no tables is just an empty database.
  CHECK(Assess(chain, Alembic({}, {})).problems.empty());

  DbState edited = History(chain, 2);
  edited.history[1].checksum = std::string(64, '0');
  CHECK(Mentions(Assess(chain, edited), "edited"));

  DbState unknown = History(chain, 3);
  HistoryRow extra = unknown.history.back();
  extra.id = "m9";
  extra.seq = 4;
  unknown.history.push_back(extra);
  unknown.alembic_versions = {"m9"};
  CHECK(Mentions(Assess(chain, unknown), "'m9' has no file"));

  DbState skewed = History(chain, 2);
  skewed.alembic_versions = {"m3"};
  CHECK(Mentions(Assess(chain, skewed), "alembic_version"));

  DbState gap = History(chain, 3);
  gap.history.erase(gap.history.begin() + 1);
  CHECK(Mentions(Assess(chain, gap), "position 2"));

  auto refused = PlanUpgrade(chain, Assess(chain, edited), 3, false);
  REQUIRE_FALSE(refused.ok());
  CHECK(absl::IsFailedPrecondition(refused.status()));
  CHECK(absl::IsFailedPrecondition(PlanDowngrade(chain, Assess(chain, edited), 0).status()));
}

TEST_CASE("targets resolve; a target in the wrong direction is refused", "[migrate]") {
  const auto chain = Chain(3);
  CHECK(*ResolveTarget(chain, "head") == 3);
  CHECK(*ResolveTarget(chain, "base") == 0);
  CHECK(*ResolveTarget(chain, "m2") == 2);
  CHECK(absl::IsInvalidArgument(ResolveTarget(chain, "m7").status()));
  const Assessment at = Assess(chain, History(chain, 2));
  CHECK(absl::IsFailedPrecondition(PlanUpgrade(chain, at, 1, false).status()));
  CHECK(absl::IsFailedPrecondition(PlanDowngrade(chain, at, 3).status()));
}

TEST_CASE("fixtures are not loaded late onto migrations applied without them", "[migrate]") {
  const auto chain = Chain(3);
  auto late = PlanUpgrade(chain, Assess(chain, History(chain, 2, false)), 3, true);
  REQUIRE_FALSE(late.ok());
  CHECK(absl::IsFailedPrecondition(late.status()));
  auto consistent = PlanUpgrade(chain, Assess(chain, History(chain, 2, true)), 3, true);
  REQUIRE(consistent.ok());
  CHECK(consistent->steps[0].fixtures);
  // Without fixtures requested, nothing stops the upgrade; nothing to do is never refused.
  CHECK(PlanUpgrade(chain, Assess(chain, History(chain, 2, true)), 3, false).ok());
  CHECK(PlanUpgrade(chain, Assess(chain, History(chain, 3, false)), 3, true).ok());
}

TEST_CASE("downgrade undoes newest first, with fixtures where they were loaded", "[migrate]") {
  auto chain = Chain(3);
  auto plan = PlanDowngrade(chain, Assess(chain, History(chain, 3, true)), 1);
  REQUIRE(plan.ok());
  REQUIRE(plan->steps.size() == 2);
  CHECK(plan->steps[0].migration->id == "m3");
  CHECK_FALSE(plan->steps[0].up);
  CHECK(plan->steps[0].fixtures);
  CHECK(plan->steps[1].migration->id == "m2");

  chain[1].down.reset();
  auto irreversible = PlanDowngrade(chain, Assess(chain, History(chain, 3)), 0);
  REQUIRE_FALSE(irreversible.ok());
  CHECK(std::string(irreversible.status().message()).find("'m2'") != std::string::npos);
}

TEST_CASE("bookkeeping statements keep alembic_version at the new position", "[migrate]") {
  const auto chain = Chain(3);
  const auto up = RecordStep(chain, Step{&chain[1], 2, true, false}, "me", 5);
  REQUIRE(up.size() == 3);
  CHECK(up[0].sql.find("INSERT INTO zeva_schema_history") == 0);
  CHECK(up[0].params[0] == "m2");
  CHECK(up[0].params[4] == "false");
  CHECK(up[2].params[0] == "m2");
  const auto down = RecordStep(chain, Step{&chain[1], 2, false, false}, "me", 5);
  REQUIRE(down.size() == 3);
  CHECK(down[0].sql.find("DELETE FROM zeva_schema_history") == 0);
  CHECK(down[2].params[0] == "m1");
  // Undoing the first migration leaves alembic_version empty (base), as alembic does.
  CHECK(RecordStep(chain, Step{&chain[0], 1, false, false}, "me", 5).size() == 2);
  const auto adopted = RecordAdoption(chain, 2, "me");
  REQUIRE(adopted.size() == 2);
  CHECK(adopted[1].params[5] == "true");
  CHECK_FALSE(adopted[1].params[4].has_value());  // fixtures unknown
}

TEST_CASE("--sql renders parameters as literals and wraps transactional steps", "[migrate]") {
  CHECK(SqlLiteral(std::string("it's")) == "'it''s'");
  CHECK(SqlLiteral(std::nullopt) == "NULL");
  CHECK(Render({"SELECT $1, $2, $10", {"a", std::nullopt}}) == "SELECT 'a', NULL, $10");

  auto chain = Chain(2);
  chain[1].transactional = false;
  auto plan = PlanUpgrade(chain, Assess(chain, DbState{}), 2, true);
  REQUIRE(plan.ok());
  const std::string script = RenderScript(chain, *plan, "tester");
  INFO(script);
  CHECK(script.find("CREATE TABLE IF NOT EXISTS zeva_schema_history") != std::string::npos);
  CHECK(script.find("BEGIN;\nCREATE TABLE t1 (a int);\nINSERT INTO t1 VALUES (1);\n"
                    "INSERT INTO zeva_schema_history") != std::string::npos);
  // The non-transactional migration runs bare; only its bookkeeping is in a transaction.
  CHECK(script.find("[with fixtures]\nCREATE TABLE t2 (a int);\nINSERT INTO t2 VALUES (1);\n"
                    "BEGIN;\n") != std::string::npos);
  CHECK(script.find("INSERT INTO alembic_version (version_num) VALUES ('m2')") !=
        std::string::npos);
  CHECK(script.find("$") == std::string::npos);
}
