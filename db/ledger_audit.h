#pragma once
// The credit ledger's invariants as queries: an auditor for tests, the benchmark and
// operators. Each query is one statement, so it sees one snapshot and may run while the
// service takes writes. No gRPC types; libpqxx exceptions stop here.
//
// Ledger: posted = the sum of entries per supplier key; every supplier entry has its account;
// every journal sums to zero; reserved = the lines of reserving transfers per key; every
// RECORDED transfer has exactly one journal; every ASSESSED model year report has its one
// REDUCTION journal when it deducted anything (none otherwise), no other report has one, and
// a REDUCTION only debits suppliers; no negative available; the suppliers' total is minus the
// government's. Outbox: every journal has exactly one outbox event and every
// transfer change its event (valid until delivered events are pruned).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/statement.h"

namespace zeva::db {

// One line per violation; empty when the ledger is sound. `outbox` adds the outbox checks.
absl::StatusOr<std::vector<std::string>> AuditLedger(const std::string& database_url, bool outbox);

const Statement& LedgerAuditStatement();
const Statement& OutboxAuditStatement();

}  // namespace zeva::db
