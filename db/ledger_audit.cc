#include "db/ledger_audit.h"

#include <pqxx/pqxx>

#include "db/connection.h"

namespace zeva::db {
namespace {

constexpr Statement kLedgerAudit{"ledger_audit", R"sql(
SELECT v FROM (
      SELECT 'account ' || a.organization_id || ' ' || a.model_year || ' ' || a.credit_class ||
             ' posted ' || a.posted || ' but entries sum to ' || coalesce(s.total, 0) AS v
      FROM credit_accounts a LEFT JOIN (
        SELECT organization_id, model_year, credit_class, sum(amount) AS total
        FROM credit_ledger_entries GROUP BY 1, 2, 3) s
      USING (organization_id, model_year, credit_class)
      WHERE a.posted <> coalesce(s.total, 0)
      UNION ALL
      SELECT 'supplier entries without an account: ' || e.organization_id
      FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id
      WHERE o.organization_type = 'VEHICLE_SUPPLIER' AND NOT EXISTS (
        SELECT 1 FROM credit_accounts a WHERE a.organization_id = e.organization_id
        AND a.model_year = e.model_year AND a.credit_class = e.credit_class)
      UNION ALL
      SELECT 'journal ' || journal_id || ' sums to ' || sum(amount)
      FROM credit_ledger_entries GROUP BY journal_id HAVING sum(amount) <> 0
      UNION ALL
      SELECT 'account ' || a.organization_id || ' ' || a.model_year || ' ' || a.credit_class ||
             ' reserved ' || a.reserved || ' but reserving transfers hold ' || coalesce(r.total, 0)
      FROM credit_accounts a LEFT JOIN (
        SELECT t.from_organization_id AS organization_id, l.model_year, l.credit_class,
               sum(l.amount) AS total
        FROM credit_transfers t JOIN credit_transfer_lines l ON l.transfer_id = t.id
        WHERE t.status IN ('SUBMITTED', 'ACCEPTED', 'RECOMMENDED_APPROVAL',
                           'RECOMMENDED_REJECTION')
        GROUP BY 1, 2, 3) r
      USING (organization_id, model_year, credit_class)
      WHERE a.reserved <> coalesce(r.total, 0)
      UNION ALL
      SELECT 'recorded transfer ' || t.id || ' has ' || count(j.id) || ' journals'
      FROM credit_transfers t LEFT JOIN credit_journals j
        ON j.kind = 'TRANSFER' AND j.reference = 'transfer/' || t.id
      WHERE t.status = 'RECORDED' GROUP BY t.id HAVING count(j.id) <> 1
      UNION ALL
      SELECT 'assessed report ' || r.id || ' has ' || count(j.id) || ' REDUCTION journals'
      FROM model_year_reports r LEFT JOIN credit_journals j ON j.model_year_report_id = r.id
      WHERE r.status = 'ASSESSED' GROUP BY r.id, r.journal_id
      HAVING count(j.id) <> (r.journal_id IS NOT NULL)::int
          OR coalesce(max(j.id), 0) <> coalesce(r.journal_id, 0)
      UNION ALL
      SELECT 'REDUCTION journal ' || j.id || ' of report ' || r.id || ' in status ' || r.status
      FROM credit_journals j JOIN model_year_reports r ON r.id = j.model_year_report_id
      WHERE r.status <> 'ASSESSED'
      UNION ALL
      SELECT 'REDUCTION journal ' || e.journal_id || ' credits supplier ' || e.organization_id
      FROM credit_ledger_entries e JOIN credit_journals j ON j.id = e.journal_id
      JOIN organizations o ON o.id = e.organization_id
      WHERE j.model_year_report_id IS NOT NULL AND o.organization_type = 'VEHICLE_SUPPLIER'
        AND e.amount > 0
      UNION ALL
      SELECT 'negative available: ' || organization_id || ' ' || model_year || ' ' || credit_class
      FROM credit_accounts WHERE posted - reserved < 0
      UNION ALL
      SELECT 'suppliers total ' || sum(amount) FILTER (WHERE o.organization_type = 'VEHICLE_SUPPLIER')
             || ' is not minus the government''s ' || sum(amount) FILTER (WHERE o.organization_type = 'GOVERNMENT')
      FROM credit_ledger_entries e JOIN organizations o ON o.id = e.organization_id
      HAVING coalesce(sum(amount), 0) <> 0
    ) x
)sql"};

constexpr Statement kOutboxAudit{"outbox_audit", R"sql(
SELECT v FROM (
      SELECT 'journal ' || j.id || ' has ' || count(e.id) || ' outbox events' AS v
      FROM credit_journals j LEFT JOIN outbox_events e ON e.journal_id = j.id
      GROUP BY j.id HAVING count(e.id) <> 1
      UNION ALL
      SELECT 'transfer ' || t.id || ': ' || h.changes || ' changes but ' ||
             coalesce(e.events, 0) || ' outbox events'
      FROM credit_transfers t
      JOIN (SELECT transfer_id, count(*) AS changes FROM credit_transfer_history
            GROUP BY transfer_id) h ON h.transfer_id = t.id
      LEFT JOIN (SELECT transfer_id, count(*) AS events FROM outbox_events
                 WHERE event_type <> 'credits.transfer.updated' GROUP BY transfer_id) e
        ON e.transfer_id = t.id
      WHERE h.changes <> coalesce(e.events, 0)
    ) x
)sql"};

}  // namespace

const Statement& LedgerAuditStatement() { return kLedgerAudit; }
const Statement& OutboxAuditStatement() { return kOutboxAudit; }

absl::StatusOr<std::vector<std::string>> AuditLedger(const std::string& database_url, bool outbox) {
  auto connection = Connect(database_url, "zeva-ledger-audit", 10);
  if (!connection.ok()) return connection.status();
  try {
    // One snapshot for both queries: REPEATABLE READ, read only.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(**connection);
    std::vector<std::string> violations;
    for (const Statement* s : {&kLedgerAudit, &kOutboxAudit}) {
      if (s == &kOutboxAudit && !outbox) continue;
      for (const pqxx::row& row : tx.exec(s->sql)) violations.push_back(row[0].as<std::string>());
    }
    tx.commit();
    return violations;
  } catch (const std::exception& e) {
    return absl::UnavailableError(std::string("ledger audit failed: ") + e.what());
  }
}

}  // namespace zeva::db
