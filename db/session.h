#pragma once
// Session settings the pool applies on its connections.

#include <cstdint>

#include "db/statement.h"

namespace zeva::db {

// Bounds every statement of a lease by its call's deadline (see ConnectionPool). Session
// level, set outside any transaction, so that it also covers single statements run without
// BEGIN/COMMIT, and holds until the pool sets it again.
inline constexpr Statement kSetStatementTimeout{
    "set_statement_timeout", "SELECT set_config('statement_timeout', $1, false)"};

// Plans each statement for its actual parameters, set once per connection. After five
// executions PostgreSQL may reuse a generic plan, which cannot tell a small organization from
// a large one: for `organization_id = $1 AND id > $2 ORDER BY id` it walked the primary key
// and filtered out every other organization's rows (a 100-row list took 30 ms beside a
// 10^5-row organization; see docs/performance.md); the vehicle list fell back to a full
// scan. Planning the service's small queries costs far less than that.
inline constexpr Statement kCustomPlans{
    "custom_plans", "SELECT set_config('plan_cache_mode', 'force_custom_plan', false)"};

// Which server a connection reached: "<system identifier>/<timeline>". A promoted standby keeps
// the primary's system identifier and starts a new timeline; a fresh cluster has another
// identifier. Both functions are executable by any role in PostgreSQL 15.
inline constexpr char kServerIdentitySql[] =
    "SELECT s.system_identifier::text || '/' || c.timeline_id "
    "FROM pg_control_system() s, pg_control_checkpoint() c";

}  // namespace zeva::db

namespace zeva::db {

// The statement_timeout (ms) to set for a lease with `left_ms` before its deadline, or 0 when
// `current_ms` (0: none set) still fits: no longer than what is left, and at least half of it
// (a much shorter limit would cancel statements the call still has time for). A new value is
// 90% of what is left, keeping the rest for the answer's way back; at least 1 ms, at most
// PostgreSQL's largest (INT_MAX ms).
inline int64_t StatementTimeoutFor(int64_t current_ms, int64_t left_ms) {
  constexpr int64_t kMaxMs = 2147483647;
  if (left_ms > kMaxMs) left_ms = kMaxMs;
  if (current_ms > 0 && current_ms <= left_ms && current_ms * 2 >= left_ms) return 0;
  const int64_t wanted = left_ms / 10 * 9 + left_ms % 10 * 9 / 10;
  return wanted < 1 ? 1 : wanted;
}

}  // namespace zeva::db
