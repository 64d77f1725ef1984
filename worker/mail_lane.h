#pragma once
// The e-mail lane: claims due events on the mail channel and sends one e-mail per recipient
// with an address (the event's notification rows name them and their message). A mail
// server that is down or refuses for now stops the round: the events not yet mailed are
// retried after a back-off, independently of RabbitMQ. A recipient refused for good (5xx) is
// logged and skipped, as a mail server would bounce it. Each e-mail's Message-ID is derived
// from the event and the user, so a copy sent again is recognisable as the same.

#include <atomic>
#include <chrono>

#include "db/outbox_store.h"
#include "mail/smtp_mailer.h"
#include "worker/delivery_lane.h"
#include "worker/lane_support.h"
#include "worker/worker_metrics.h"

namespace zeva::worker {

struct MailLaneOptions {
  int batch_size = 20;
  std::chrono::milliseconds lease{30000};
  RetryPolicy retry;
};

class MailLane : public DeliveryLane {
 public:
  MailLane(db::OutboxStore& store, mail::SmtpMailer& mailer, WorkerMetrics& metrics,
           MailLaneOptions options);
  Pass RunOnce(const Wakeup& wakeup) override;

 private:
  db::OutboxStore& store_;
  mail::SmtpMailer& mailer_;
  WorkerMetrics& metrics_;
  const MailLaneOptions options_;
};

// Subject and text of the e-mail telling `username` about an event. Pure.
mail::Email NotificationEmail(const domain::OutboxEvent& event, const db::MailRecipient& to);

}  // namespace zeva::worker
