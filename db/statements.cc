#include "db/application_store.h"
#include "db/compliance_store.h"
#include "db/event_writes.h"
#include "db/icbc_store.h"
#include "db/idempotency.h"
#include "db/ledger_store.h"
#include "db/ledger_writes.h"
#include "db/notification_store.h"
#include "db/outbox_store.h"
#include "db/session.h"
#include "db/statement.h"
#include "db/transaction_store.h"
#include "db/transfer_store.h"
#include "db/user_store.h"
#include "db/vehicle_store.h"

namespace zeva::db {

const std::vector<Statement>& AllStatements() {
  static const std::vector<Statement> all = [] {
    std::vector<Statement> statements{kSetStatementTimeout, kCustomPlans};
    for (const auto* group :
         {&UserStore::Statements(), &VehicleStore::Statements(), &TransactionStore::Statements(),
          &LedgerStore::Statements(), &LedgerWriteStatements(), &IdempotencyStatements(),
          &TransferStore::Statements(), &EventWriteStatements(), &NotificationStore::Statements(),
          &OutboxStore::Statements(), &IcbcStore::Statements(), &ApplicationStore::Statements(),
          &ComplianceStore::Statements()}) {
      statements.insert(statements.end(), group->begin(), group->end());
    }
    return statements;
  }();
  return all;
}

}  // namespace zeva::db
