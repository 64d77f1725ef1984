#pragma once
// Carries a call's deadline into PostgreSQL, so that a query the client no longer waits for
// is cancelled by the server (statement_timeout, local to the transaction).

#include <pqxx/transaction_base>

#include "db/pool.h"
#include "db/statement.h"

namespace zeva::db {

inline constexpr Statement kSetStatementTimeout{"set_statement_timeout",
                                                "SELECT set_config('statement_timeout', $1, true)"};

// Sets statement_timeout to the time left before `deadline` (at least 1 ms) when the
// deadline is less than an hour away; calls without a deadline keep the server's setting.
void ApplyDeadline(pqxx::transaction_base& tx, Clock::time_point deadline);

}  // namespace zeva::db
