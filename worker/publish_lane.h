#pragma once
// The RabbitMQ lane: claims due events, publishes each as one message on zeva.events and one
// per recipient on notifications, waits for the broker's confirms, then records the events
// as published. A failure at any point leaves them unpublished (retried after a back-off, or
// by another worker once the lease ends): delivery is at least once, every copy with the
// same message_id. Messages are published `mandatory`: an event with a message the broker
// returned as unroutable (no queue bound for it), or refused (nack, e.g. a full queue that
// rejects publishes), is not delivered, but retried on its own like a failure, and
// dead-lettered once out of attempts; the rest of its batch is recorded published.

#include <atomic>
#include <chrono>

#include "broker/amqp_publisher.h"
#include "db/outbox_store.h"
#include "worker/delivery_lane.h"
#include "worker/lane_support.h"
#include "worker/worker_metrics.h"

namespace zeva::worker {

struct PublishLaneOptions {
  int batch_size = 100;
  std::chrono::milliseconds lease{30000};
  RetryPolicy retry;
  // MAIL_DISABLED: the deployment sends no e-mail, so publishing completes the mail channel
  // too. Never set merely because this replica has no SMTP_URL: others may have it.
  bool mail_disabled = false;
};

class PublishLane : public DeliveryLane {
 public:
  PublishLane(db::OutboxStore& store, broker::AmqpPublisher& publisher, WorkerMetrics& metrics,
              PublishLaneOptions options);
  Pass RunOnce(const Wakeup& wakeup) override;
  void Idle() override;

  // For readiness, read from other threads.
  bool database_ok() const { return database_ok_.load(); }
  bool broker_ok() const { return broker_ok_.load(); }

 private:
  db::OutboxStore& store_;
  broker::AmqpPublisher& publisher_;
  WorkerMetrics& metrics_;
  const PublishLaneOptions options_;
  std::atomic<bool> database_ok_{false};
  std::atomic<bool> broker_ok_{false};
};

}  // namespace zeva::worker
