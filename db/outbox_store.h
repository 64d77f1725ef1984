#pragma once
// The worker's side of the transactional outbox (table outbox_events). Two channels, RabbitMQ
// ("publish") and e-mail ("mail"), each with its own progress, attempts and retry time, so
// that one never holds the other back. No gRPC or AMQP types.
//
// Claiming takes due events with FOR UPDATE SKIP LOCKED and moves their next attempt past a
// lease in the same committed statement: any number of workers take disjoint batches without
// waiting on each other, no transaction stays open during delivery, and the events of a
// worker that died are taken again once the lease ends (at least once, same event id).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pool.h"
#include "db/statement.h"
#include "domain/outbox_event.h"

namespace zeva::db {

// Migration 0012's trigger NOTIFYs here when outbox events commit (ChangeFeed wakes workers).
inline constexpr char kOutboxChannel[] = "zeva_outbox";

enum class OutboxChannel { kPublish, kMail };
const char* OutboxChannelName(OutboxChannel channel);  // "publish", "mail"

// What to tell a recipient by e-mail: one per notification row of an event whose user has an
// address.
struct MailRecipient {
  std::string event_id;
  std::string username;
  std::string email;
  std::string message;
};

struct OutboxLag {
  int64_t events = 0;  // not yet delivered on the channel (dead letters left out)
  double seconds = 0;  // age of the oldest of them; 0 when none
  int64_t dead = 0;    // dead letters of the channel
};

// An event a channel gave up on, and why (a short, secret-free text).
struct DeadLetter {
  std::string event_id;
  std::string error;
};

// What a claim took: the events leased to the caller, and those it found undecodable, which
// were dead-lettered in the claim's own transaction instead of leased.
struct OutboxClaim {
  std::vector<domain::OutboxEvent> events;
  std::vector<DeadLetter> undecodable;
};

// One retry to schedule: the event, the delay before its next attempt, and the attempts its
// claim counted (domain::OutboxEvent::attempts), which tell the claim from a later one.
struct OutboxRetry {
  std::string event_id;
  std::chrono::milliseconds delay{0};
  int attempts = 0;
};

class OutboxStore {
 public:
  explicit OutboxStore(ConnectionPool& pool) : pool_(pool) {}

  // Up to `limit` due events of `channel`, oldest first, each leased to the caller for
  // `lease` and its attempts counted. A row that cannot be decoded is dead-lettered in the
  // same transaction, never leased: a poison event neither blocks a batch nor comes back.
  absl::StatusOr<OutboxClaim> Claim(OutboxChannel channel, int limit,
                                    std::chrono::milliseconds lease, const Budget& budget);
  // Delivered. `mail_too` (publish only) marks the mail channel done as well: set when no mail
  // server is configured, so that nothing waits for e-mail that will never be sent.
  absl::Status MarkDelivered(OutboxChannel channel, const std::vector<std::string>& event_ids,
                             bool mail_too, const Budget& budget);
  // Failed: each event is tried again after its delay; `error` (a short, secret-free text)
  // is kept for operators. An event that has had `max_attempts` attempts on the channel is
  // dead-lettered instead; their ids are returned. An event claimed again since (the caller's
  // lease ran out) is left as it is.
  absl::StatusOr<std::vector<std::string>> ScheduleRetries(OutboxChannel channel,
                                                           const std::vector<OutboxRetry>& retries,
                                                           const std::string& error,
                                                           int max_attempts, const Budget& budget);
  // Not attempted after all (shutdown): due again at once, the claim's attempt not counted;
  // events claimed by another worker since (this one's lease ran out) are left alone.
  absl::Status Release(OutboxChannel channel, const std::vector<domain::OutboxEvent>& events,
                       const Budget& budget);
  // The recipients with an e-mail address of these events, by event then username.
  absl::StatusOr<std::vector<MailRecipient>> MailRecipients(
      const std::vector<std::string>& event_ids, const Budget& budget);
  absl::StatusOr<OutboxLag> Lag(OutboxChannel channel, const Budget& budget);
  // Deletes up to `limit` events delivered on both channels more than `retention` ago;
  // returns how many.
  absl::StatusOr<int64_t> Prune(std::chrono::hours retention, int limit, const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
