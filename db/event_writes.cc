#include "db/event_writes.h"

#include <pqxx/pqxx>

#include "db/ledger_writes.h"

namespace zeva::db {
namespace {

constexpr Statement kWriteEvent{
    "event_write",
    "WITH recipients AS ("
    "  SELECT u.username FROM users u JOIN organizations o ON o.id = u.organization_id"
    "  WHERE u.username <> $2 AND (u.organization_id = ANY($6::bigint[])"
    "    OR u.username = ANY($10::varchar[])"
    "    OR (o.organization_type = 'GOVERNMENT' AND EXISTS (SELECT 1 FROM user_roles r"
    "        WHERE r.username = u.username AND r.role::text = ANY($7::text[]))))),"
    " event AS ("
    "  INSERT INTO outbox_events (event_type, actor, transfer_id, journal_id, icbc_import_id,"
    "    application_id, model_year_report_id, organization_ids, recipients)"
    "  SELECT $1, $2, NULLIF($3::bigint, 0), NULLIF($4::bigint, 0), NULLIF($9::bigint, 0), "
    "NULLIF($11::bigint, 0), NULLIF($12::bigint, 0), $5::bigint[],"
    "    coalesce(array_agg(username ORDER BY username), '{}') FROM recipients"
    "  RETURNING id)"
    " INSERT INTO notifications (username, event_id, event_type, message, transfer_id, journal_id,"
    "   icbc_import_id, application_id, model_year_report_id)"
    " SELECT r.username, e.id, $1, $8, NULLIF($3::bigint, 0), NULLIF($4::bigint, 0), "
    "NULLIF($9::bigint, 0), NULLIF($11::bigint, 0), NULLIF($12::bigint, 0)"
    " FROM recipients r, event e"};

}  // namespace

void WriteEvent(pqxx::transaction_base& tx, const domain::Event& event, const std::string& actor,
                int64_t transfer_id, int64_t journal_id,
                const std::vector<int64_t>& organization_ids, int64_t icbc_import_id,
                int64_t application_id, int64_t model_year_report_id) {
  std::vector<std::string> organizations, recipient_organizations, roles;
  for (int64_t id : organization_ids) organizations.push_back(std::to_string(id));
  for (int64_t id : event.recipients.organizations) {
    recipient_organizations.push_back(std::to_string(id));
  }
  for (domain::Role role : event.recipients.government_roles) {
    roles.push_back(domain::RoleName(role));
  }
  tx.exec_prepared(kWriteEvent.name, event.type, actor, transfer_id, journal_id,
                   ArrayLiteral(organizations), ArrayLiteral(recipient_organizations),
                   ArrayLiteral(roles), event.message, icbc_import_id,
                   ArrayLiteral(event.recipients.users), application_id, model_year_report_id);
}

const std::vector<Statement>& EventWriteStatements() {
  static const std::vector<Statement> statements{kWriteEvent};
  return statements;
}

}  // namespace zeva::db
