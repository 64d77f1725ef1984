#pragma once
// The transactional outbox: every committed change of credits writes, in its own transaction,
// one outbox event and the notification rows of the event's recipients, so a commit always
// has its event and a rollback never does.

#include <cstdint>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "db/statement.h"
#include "domain/notification_rules.h"

namespace zeva::db {

// Resolves the recipients (never `actor`), writes their notifications and the outbox event,
// in one statement.
void WriteEvent(pqxx::transaction_base& tx, const domain::Event& event, const std::string& actor,
                int64_t transfer_id, int64_t journal_id,
                const std::vector<int64_t>& organization_ids, int64_t icbc_import_id = 0,
                int64_t application_id = 0, int64_t model_year_report_id = 0);

const std::vector<Statement>& EventWriteStatements();

}  // namespace zeva::db
