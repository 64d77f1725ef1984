#pragma once
// The RabbitMQ lane: claims due events, publishes each as one message on zeva.events and one
// per recipient on notifications, waits for the broker's confirms, then records the events
// as published. A failure at any point leaves them unpublished (retried after a back-off, or
// by another worker once the lease ends): delivery is at least once, every copy with the
// event's id as message_id.

#include <atomic>
#include <chrono>

#include "broker/amqp_publisher.h"
#include "db/outbox_store.h"
#include "worker/delivery_lane.h"
#include "worker/worker_metrics.h"

namespace zeva::worker {

struct PublishLaneOptions {
  int batch_size = 100;
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{60000};
  bool mail_off = false;  // no SMTP_URL: publishing completes the mail channel too
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
