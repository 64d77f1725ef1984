#include "db/outbox_store.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/ledger_writes.h"

namespace zeva::db {
namespace {

// The columns of a claimed event; arrays as JSON so that no username can break the parse.
#define ZEVA_OUTBOX_COLUMNS                                                                   \
  "e.id::text, e.seq, e.event_type, "                                                         \
  "to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), e.actor, " \
  "coalesce(e.transfer_id, 0), coalesce(e.journal_id, 0), "                                   \
  "array_to_json(e.organization_ids)::text, array_to_json(e.recipients)::text, "              \
  "(extract(epoch FROM e.occurred_at) * 1000000)::bigint, coalesce(e.icbc_import_id, 0), "    \
  "coalesce(e.application_id, 0), coalesce(e.model_year_report_id, 0)"

constexpr Statement kClaimPublish{
    "outbox_claim_publish",
    "WITH due AS (SELECT id FROM outbox_events WHERE published_at IS NULL"
    "  AND publish_dead_at IS NULL AND next_publish_at <= now() ORDER BY seq LIMIT $1 FOR UPDATE "
    "SKIP LOCKED)"
    " UPDATE outbox_events e SET next_publish_at = now() + $2 * interval '1 millisecond',"
    "  publish_attempts = e.publish_attempts + 1"
    " FROM due WHERE e.id = due.id"
    " RETURNING " ZEVA_OUTBOX_COLUMNS ", e.publish_attempts"};
constexpr Statement kClaimMail{
    "outbox_claim_mail",
    "WITH due AS (SELECT id FROM outbox_events WHERE mailed_at IS NULL"
    "  AND mail_dead_at IS NULL AND next_mail_at <= now() ORDER BY seq LIMIT $1 FOR UPDATE SKIP "
    "LOCKED)"
    " UPDATE outbox_events e SET next_mail_at = now() + $2 * interval '1 millisecond',"
    "  mail_attempts = e.mail_attempts + 1"
    " FROM due WHERE e.id = due.id"
    " RETURNING " ZEVA_OUTBOX_COLUMNS ", e.mail_attempts"};
#undef ZEVA_OUTBOX_COLUMNS

// coalesce: a worker whose lease ran out may finish after another one did; the first
// delivery's time stays.
constexpr Statement kMarkPublished{
    "outbox_mark_published",
    "UPDATE outbox_events SET published_at = coalesce(published_at, now()), publish_error = NULL,"
    " mailed_at = CASE WHEN $2 THEN coalesce(mailed_at, now()) ELSE mailed_at END"
    " WHERE id = ANY($1::uuid[])"};
constexpr Statement kMarkMailed{
    "outbox_mark_mailed",
    "UPDATE outbox_events SET mailed_at = coalesce(mailed_at, now()), mail_error = NULL"
    " WHERE id = ANY($1::uuid[])"};
// An event out of attempts ($4) is dead-lettered rather than scheduled; those are returned.
// Only while the caller's claim is the latest ($5: the attempts it counted): a worker that
// stalled past its lease must not reschedule, or dead-letter, an event another worker has
// claimed since.
constexpr Statement kRetryPublish{
    "outbox_retry_publish",
    "UPDATE outbox_events e SET next_publish_at = now() + r.delay * interval '1 millisecond',"
    " publish_error = left($3, 500),"
    " publish_dead_at = CASE WHEN e.publish_attempts >= $4 THEN now() END"
    " FROM unnest($1::uuid[], $2::bigint[], $5::int[]) AS r(id, delay, attempts)"
    " WHERE e.id = r.id AND e.published_at IS NULL AND e.publish_attempts = r.attempts"
    " RETURNING e.id::text, e.publish_dead_at IS NOT NULL"};
constexpr Statement kRetryMail{
    "outbox_retry_mail",
    "UPDATE outbox_events e SET next_mail_at = now() + r.delay * interval '1 millisecond',"
    " mail_error = left($3, 500),"
    " mail_dead_at = CASE WHEN e.mail_attempts >= $4 THEN now() END"
    " FROM unnest($1::uuid[], $2::bigint[], $5::int[]) AS r(id, delay, attempts)"
    " WHERE e.id = r.id AND e.mailed_at IS NULL AND e.mail_attempts = r.attempts"
    " RETURNING e.id::text, e.mail_dead_at IS NOT NULL"};
// An undecodable row, dead-lettered inside the claim's transaction (rare: one at a time).
constexpr Statement kDeadPublish{"outbox_dead_publish",
                                 "UPDATE outbox_events SET publish_dead_at = now(),"
                                 " publish_error = left($2, 500) WHERE id = $1::uuid"};
constexpr Statement kDeadMail{"outbox_dead_mail",
                              "UPDATE outbox_events SET mail_dead_at = now(),"
                              " mail_error = left($2, 500) WHERE id = $1::uuid"};
// Like the retries, only while the caller's claim is the latest ($2: the attempts it counted):
// a stalled worker must not hand back, and so double, another worker's claim.
constexpr Statement kReleasePublish{
    "outbox_release_publish",
    "UPDATE outbox_events e SET next_publish_at = now(),"
    " publish_attempts = greatest(e.publish_attempts - 1, 0)"
    " FROM unnest($1::uuid[], $2::int[]) AS r(id, attempts)"
    " WHERE e.id = r.id AND e.published_at IS NULL AND e.publish_attempts = r.attempts"};
constexpr Statement kReleaseMail{
    "outbox_release_mail",
    "UPDATE outbox_events e SET next_mail_at = now(),"
    " mail_attempts = greatest(e.mail_attempts - 1, 0)"
    " FROM unnest($1::uuid[], $2::int[]) AS r(id, attempts)"
    " WHERE e.id = r.id AND e.mailed_at IS NULL AND e.mail_attempts = r.attempts"};
constexpr Statement kMailRecipients{
    "outbox_mail_recipients",
    "SELECT n.event_id::text, n.username, u.email, n.message"
    " FROM notifications n JOIN users u ON u.username = n.username"
    " WHERE n.event_id = ANY($1::uuid[]) AND coalesce(u.email, '') <> ''"
    " ORDER BY n.event_id, n.username"};
constexpr Statement kLagPublish{
    "outbox_lag_publish",
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8,"
    " (SELECT count(*) FROM outbox_events WHERE publish_dead_at IS NOT NULL)"
    " FROM outbox_events WHERE published_at IS NULL AND publish_dead_at IS NULL"};
constexpr Statement kLagMail{
    "outbox_lag_mail",
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8,"
    " (SELECT count(*) FROM outbox_events WHERE mail_dead_at IS NOT NULL)"
    " FROM outbox_events WHERE mailed_at IS NULL AND mail_dead_at IS NULL"};
constexpr Statement kPrune{
    "outbox_prune",
    "DELETE FROM outbox_events WHERE id IN (SELECT id FROM outbox_events"
    " WHERE published_at < now() - $1 * interval '1 hour' AND mailed_at IS NOT NULL"
    " ORDER BY published_at LIMIT $2)"};

bool IsPublish(OutboxChannel channel) { return channel == OutboxChannel::kPublish; }

std::string IdArray(const std::vector<std::string>& ids) { return ArrayLiteral(ids); }

domain::OutboxEvent EventFromRow(const pqxx::row& row) {
  domain::OutboxEvent e;
  e.id = row[0].as<std::string>();
  e.seq = row[1].as<int64_t>();
  e.event_type = row[2].as<std::string>();
  e.occurred_at = row[3].as<std::string>();
  e.actor = row[4].as<std::string>();
  e.transfer_id = row[5].as<int64_t>();
  e.journal_id = row[6].as<int64_t>();
  const auto organizations = nlohmann::json::parse(row[7].as<std::string>());
  for (const auto& id : organizations) e.organization_ids.push_back(id.get<int64_t>());
  const auto recipients = nlohmann::json::parse(row[8].as<std::string>());
  for (const auto& name : recipients) e.recipients.push_back(name.get<std::string>());
  e.occurred_micros = row[9].as<int64_t>();
  e.icbc_import_id = row[10].as<int64_t>();
  e.application_id = row[11].as<int64_t>();
  e.model_year_report_id = row[12].as<int64_t>();
  e.attempts = row[13].as<int>();
  return e;
}

// Runs `write` in a transaction of its own and commits it.
absl::Status RunWrite(ConnectionPool& pool, const Budget& budget,
                      const std::function<void(pqxx::work&)>& write) {
  return pool
      .Run<bool>(budget,
                 [&](pqxx::connection& c) -> absl::StatusOr<bool> {
                   pqxx::work tx(c);
                   write(tx);
                   tx.commit();
                   return true;
                 })
      .status();
}

}  // namespace

const char* OutboxChannelName(OutboxChannel channel) {
  return IsPublish(channel) ? "publish" : "mail";
}

const std::vector<Statement>& OutboxStore::Statements() {
  static const std::vector<Statement> statements{
      kClaimPublish,   kClaimMail,   kMarkPublished, kMarkMailed,     kRetryPublish,
      kRetryMail,      kDeadPublish, kDeadMail,      kReleasePublish, kReleaseMail,
      kMailRecipients, kLagPublish,  kLagMail,       kPrune};
  return statements;
}

absl::StatusOr<OutboxClaim> OutboxStore::Claim(OutboxChannel channel, int limit,
                                               std::chrono::milliseconds lease,
                                               const Budget& budget) {
  return pool_.Run<OutboxClaim>(budget, [&](pqxx::connection& c) -> absl::StatusOr<OutboxClaim> {
    pqxx::work tx(c);
    const pqxx::result rows =
        tx.exec_prepared(IsPublish(channel) ? kClaimPublish.name : kClaimMail.name, limit,
                         static_cast<int64_t>(lease.count()));
    OutboxClaim claim;
    claim.events.reserve(rows.size());
    // Decoded before the commit: a row that cannot be is dead-lettered by the same
    // transaction, so that no lease is ever committed for it.
    for (const pqxx::row& row : rows) {
      try {
        claim.events.push_back(EventFromRow(row));
      } catch (const std::exception& e) {
        DeadLetter dead{row[0].as<std::string>(), std::string("cannot decode: ") + e.what()};
        tx.exec_prepared(IsPublish(channel) ? kDeadPublish.name : kDeadMail.name, dead.event_id,
                         dead.error);
        claim.undecodable.push_back(std::move(dead));
      }
    }
    tx.commit();
    // RETURNING keeps no order; deliver in the order written.
    std::sort(claim.events.begin(), claim.events.end(),
              [](const auto& a, const auto& b) { return a.seq < b.seq; });
    return claim;
  });
}

absl::Status OutboxStore::MarkDelivered(OutboxChannel channel,
                                        const std::vector<std::string>& event_ids, bool mail_too,
                                        const Budget& budget) {
  if (event_ids.empty()) return absl::OkStatus();
  return RunWrite(pool_, budget, [&](pqxx::work& tx) {
    if (IsPublish(channel)) {
      tx.exec_prepared(kMarkPublished.name, IdArray(event_ids), mail_too);
    } else {
      tx.exec_prepared(kMarkMailed.name, IdArray(event_ids));
    }
  });
}

absl::StatusOr<std::vector<std::string>> OutboxStore::ScheduleRetries(
    OutboxChannel channel, const std::vector<OutboxRetry>& retries, const std::string& error,
    int max_attempts, const Budget& budget) {
  if (retries.empty()) return std::vector<std::string>{};
  std::vector<std::string> ids, delays, attempts;
  ids.reserve(retries.size());
  delays.reserve(retries.size());
  attempts.reserve(retries.size());
  for (const OutboxRetry& r : retries) {
    ids.push_back(r.event_id);
    delays.push_back(std::to_string(r.delay.count()));
    attempts.push_back(std::to_string(r.attempts));
  }
  return pool_.Run<std::vector<std::string>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::work tx(c);
        const pqxx::result rows = tx.exec_prepared(
            IsPublish(channel) ? kRetryPublish.name : kRetryMail.name, IdArray(ids),
            ArrayLiteral(delays), error, max_attempts, ArrayLiteral(attempts));
        tx.commit();
        std::vector<std::string> dead;
        for (const pqxx::row& row : rows) {
          if (row[1].as<bool>()) dead.push_back(row[0].as<std::string>());
        }
        return dead;
      });
}

absl::Status OutboxStore::Release(OutboxChannel channel,
                                  const std::vector<domain::OutboxEvent>& events,
                                  const Budget& budget) {
  if (events.empty()) return absl::OkStatus();
  std::vector<std::string> ids, attempts;
  for (const domain::OutboxEvent& event : events) {
    ids.push_back(event.id);
    attempts.push_back(std::to_string(event.attempts));
  }
  return RunWrite(pool_, budget, [&](pqxx::work& tx) {
    tx.exec_prepared(IsPublish(channel) ? kReleasePublish.name : kReleaseMail.name, IdArray(ids),
                     ArrayLiteral(attempts));
  });
}

absl::StatusOr<std::vector<MailRecipient>> OutboxStore::MailRecipients(
    const std::vector<std::string>& event_ids, const Budget& budget) {
  if (event_ids.empty()) return std::vector<MailRecipient>{};
  return pool_.Run<std::vector<MailRecipient>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<MailRecipient>> {
        pqxx::nontransaction tx(c);
        std::vector<MailRecipient> recipients;
        for (const pqxx::row& row : tx.exec_prepared(kMailRecipients.name, IdArray(event_ids))) {
          recipients.push_back(MailRecipient{row[0].as<std::string>(), row[1].as<std::string>(),
                                             row[2].as<std::string>(), row[3].as<std::string>()});
        }
        return recipients;
      });
}

absl::StatusOr<OutboxLag> OutboxStore::Lag(OutboxChannel channel, const Budget& budget) {
  return pool_.Run<OutboxLag>(budget, [&](pqxx::connection& c) -> absl::StatusOr<OutboxLag> {
    pqxx::nontransaction tx(c);
    const pqxx::row row = tx.exec_prepared1(IsPublish(channel) ? kLagPublish.name : kLagMail.name);
    return OutboxLag{row[0].as<int64_t>(), row[1].as<double>(), row[2].as<int64_t>()};
  });
}

absl::StatusOr<int64_t> OutboxStore::Prune(std::chrono::hours retention, int limit,
                                           const Budget& budget) {
  return pool_.Run<int64_t>(budget, [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::work tx(c);
    const pqxx::result r =
        tx.exec_prepared(kPrune.name, static_cast<int64_t>(retention.count()), limit);
    tx.commit();
    return static_cast<int64_t>(r.affected_rows());
  });
}

}  // namespace zeva::db
