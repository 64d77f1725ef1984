#pragma once
// Pure decisions: where a database stands in the chain (from what ReadState saw), whether that
// state is one the runner may touch, and which steps take it to a target. No I/O here.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "migrate/migration.h"

namespace zeva::migrate {

// One row of the history table.
struct HistoryRow {
  std::string id;
  int seq = 0;
  std::string checksum;
  std::optional<bool> fixtures;  // nullopt: adopted from alembic, unknown
  bool adopted = false;
  std::string applied_at;
  int64_t duration_ms = 0;
  std::string applied_by;
};

// What the runner reads from a database before deciding anything.
struct DbState {
  bool has_history_table = false;
  std::vector<HistoryRow> history;  // by seq
  bool has_alembic_table = false;
  std::vector<std::string> alembic_versions;  // rows of alembic_version
  std::vector<std::string> other_tables;      // tables besides the two bookkeeping ones
};

struct Assessment {
  int applied = 0;                            // chain[0 .. applied) count as applied; 0 is base
  bool adopt = false;                         // alembic-era database: no history table yet
  std::vector<std::optional<bool>> fixtures;  // per applied migration, as recorded
  std::vector<std::string> problems;          // non-empty: refuse to touch the database
};

// Compares the database with the chain. Problems: an edited applied migration, an applied one
// with no file, history out of order, alembic_version disagreeing with the history, an unknown
// alembic revision, several alembic heads, or tables without any version.
Assessment Assess(const std::vector<Migration>& chain, const DbState& state);

// "head" -> chain size, "base" -> 0, an id -> its position + 1; INVALID_ARGUMENT otherwise.
absl::StatusOr<int> ResolveTarget(const std::vector<Migration>& chain, const std::string& target);

struct Step {
  const Migration* migration = nullptr;
  int seq = 0;            // 1-based position in the chain
  bool up = true;         // false: undo
  bool fixtures = false;  // run the fixtures-up / fixtures-down part too
};

struct Plan {
  int from = 0;
  int to = 0;
  bool adopt = false;
  std::vector<Step> steps;
};

// Steps from the assessed position up to `target`. FAILED_PRECONDITION when the assessment has
// problems, the database is past the target, or fixtures are requested on a database whose
// applied migrations were recorded without them (fixtures only load with their migration).
absl::StatusOr<Plan> PlanUpgrade(const std::vector<Migration>& chain, const Assessment& at,
                                 int target, bool fixtures);

// Steps undoing migrations down to `target`; fixtures-down runs where fixtures were recorded.
// FAILED_PRECONDITION on problems, a target above the database, or a migration without `down`.
absl::StatusOr<Plan> PlanDowngrade(const std::vector<Migration>& chain, const Assessment& at,
                                   int target);

// "base" or the id of chain[applied - 1].
std::string PositionName(const std::vector<Migration>& chain, int applied);

}  // namespace zeva::migrate
