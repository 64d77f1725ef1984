#include "worker/mail_lane.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "worker/lane_support.h"

namespace zeva::worker {

mail::Email NotificationEmail(const domain::OutboxEvent& event, const db::MailRecipient& to) {
  mail::Email email;
  email.to = to.email;
  email.subject = absl::StrCat("ZEVA: ", to.message);
  email.text = absl::StrCat("Hello ", to.username, ",\n\n", to.message,
                            "\n\nSign in to ZEVA to see the details.\n\n"
                            "This message was sent automatically; please do not reply.\n");
  email.message_id = absl::StrCat(event.id, ".", to.username, "@zeva");
  return email;
}

MailLane::MailLane(db::OutboxStore& store, mail::SmtpMailer& mailer, WorkerMetrics& metrics,
                   MailLaneOptions options)
    : store_(store), mailer_(mailer), metrics_(metrics), options_(options) {}

Pass MailLane::RunOnce(const Wakeup& wakeup) {
  constexpr auto kChannel = db::OutboxChannel::kMail;
  const char* channel = db::OutboxChannelName(kChannel);
  if (wakeup.stopping()) return Pass::kIdle;
  const auto started = std::chrono::steady_clock::now();
  auto events = ClaimDue(store_, metrics_, kChannel, options_.batch_size, options_.lease);
  if (!events.ok()) {
    metrics_.DeliveryFailed(channel, "database");
    spdlog::warn("cannot claim outbox events for e-mail: {}", events.status().ToString());
    return Pass::kFailed;
  }
  if (events->empty()) return Pass::kIdle;
  auto recipients = store_.MailRecipients(IdsOf(*events), DatabaseBudget());
  if (!recipients.ok()) {
    metrics_.DeliveryFailed(channel, "database");
    ScheduleRetries(store_, metrics_, kChannel, *events, options_.retry, "cannot read recipients");
    return Pass::kFailed;
  }
  std::map<std::string, std::vector<const db::MailRecipient*>> by_event;
  for (const db::MailRecipient& r : *recipients) by_event[r.event_id].push_back(&r);

  std::vector<std::string> mailed;
  std::vector<domain::OutboxEvent> not_mailed;
  std::vector<domain::OutboxEvent> not_attempted;
  absl::Status failure;
  for (const domain::OutboxEvent& event : *events) {
    // Shutdown, or half the lease gone (a slow mail server): hand the rest back rather than
    // let another worker take them while this one still sends.
    if (!failure.ok() || wakeup.stopping() ||
        std::chrono::steady_clock::now() - started > options_.lease / 2) {
      if (failure.ok()) {
        not_attempted.push_back(event);
      } else {
        not_mailed.push_back(event);
      }
      continue;
    }
    int sent = 0;
    for (const db::MailRecipient* to : by_event[event.id]) {
      const absl::Status s = mailer_.Send(NotificationEmail(event, *to));
      if (s.ok()) {
        ++sent;
        continue;
      }
      if (absl::IsInvalidArgument(s)) {
        metrics_.DeliveryFailed(channel, "refused");
        spdlog::warn("event {}: the mail server refused {}'s address for good: {}", event.id,
                     to->username, s.ToString());
        continue;
      }
      failure = s;
      break;
    }
    metrics_.MailsSent(sent);
    if (!failure.ok()) {
      // Recipients already mailed get this event again on retry (same Message-ID).
      not_mailed.push_back(event);
      continue;
    }
    mailed.push_back(event.id);
    const double latency = SecondsSince(event.occurred_micros);
    metrics_.ObserveLatency(channel, latency);
    spdlog::info(
        "delivered event {} {} by e-mail: {} of {} recipients with an address, attempt "
        "{}, {:.0f} ms after its transaction",
        event.id, event.event_type, sent, by_event[event.id].size(), event.attempts,
        latency * 1000);
  }
  if (absl::Status s = store_.MarkDelivered(kChannel, mailed, false, DatabaseBudget()); !s.ok()) {
    spdlog::warn("{} events mailed but not recorded (they will be mailed again): {}", mailed.size(),
                 s.ToString());
  } else {
    metrics_.EventsDelivered(channel, static_cast<double>(mailed.size()));
  }
  if (absl::Status s = store_.Release(kChannel, not_attempted, DatabaseBudget()); !s.ok()) {
    spdlog::warn("cannot hand back {} events: {}", not_attempted.size(), s.ToString());
  }
  if (!failure.ok()) {
    metrics_.DeliveryFailed(channel, FailureReason(failure));
    spdlog::warn("mail server unavailable, {} events to retry: {}", not_mailed.size(),
                 failure.ToString());
    ScheduleRetries(store_, metrics_, kChannel, not_mailed, options_.retry,
                    std::string(failure.message()));
    return Pass::kFailed;
  }
  return static_cast<int>(events->size()) >= options_.batch_size ? Pass::kFull : Pass::kIdle;
}

}  // namespace zeva::worker
