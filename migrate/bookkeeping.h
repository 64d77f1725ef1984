#pragma once
// The runner's own tables and the statements that record a step in them, as data: the runner
// executes them with parameters, and `--sql` renders the very same statements with literals.
//
//   zeva_schema_history: one row per applied migration (id, seq, checksum, fixtures, when, how
//                        long, by whom; `adopted` for rows taken over from alembic).
//   alembic_version:     alembic's own table, kept holding the current id for older tooling.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "migrate/migration.h"
#include "migrate/plan.h"

namespace zeva::migrate {

// The advisory lock that serialises runners: pg_try_advisory_lock(kLockClass, kLockObject).
// ("zeva", "migr" as ASCII.) Shows in pg_locks as classid, objid with objsubid 2.
inline constexpr int32_t kLockClass = 0x7A657661;
inline constexpr int32_t kLockObject = 0x6D696772;

inline constexpr char kHistoryTable[] = "zeva_schema_history";

// A statement with its positional parameters ($1...); nullopt binds NULL.
struct BoundStatement {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

// CREATE TABLE IF NOT EXISTS for both bookkeeping tables (alembic_version as alembic made it).
std::vector<BoundStatement> CreateBookkeeping();

// History rows for migrations 1..applied taken over from alembic (fixtures unknown).
std::vector<BoundStatement> RecordAdoption(const std::vector<Migration>& chain, int applied,
                                           const std::string& applied_by);

// What records `step` once its SQL ran: the history row added (up) or removed (down), and
// alembic_version set to the new position.
std::vector<BoundStatement> RecordStep(const std::vector<Migration>& chain, const Step& step,
                                       const std::string& applied_by, int64_t duration_ms);

// The SQL a step runs, split into statements: up (+ fixtures-up), or fixtures-down + down.
std::vector<std::string> StepStatements(const Step& step);

// A literal for SQL text: 'it''s', or NULL.
std::string SqlLiteral(const std::optional<std::string>& value);

// `statement` with $1.. replaced by literals of its parameters.
std::string Render(const BoundStatement& statement);

// The whole plan as a psql script: transactional migrations each inside BEGIN/COMMIT,
// the others statement by statement.
std::string RenderScript(const std::vector<Migration>& chain, const Plan& plan,
                         const std::string& applied_by);

}  // namespace zeva::migrate
