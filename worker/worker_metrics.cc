#include "worker/worker_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"

namespace zeva::worker {

WorkerMetrics::WorkerMetrics() : registry_(std::make_shared<prometheus::Registry>()) {}
WorkerMetrics::~WorkerMetrics() = default;

absl::StatusOr<std::unique_ptr<WorkerMetrics>> WorkerMetrics::Serve(const std::string& address,
                                                                    const std::string& version) {
  std::unique_ptr<WorkerMetrics> m(new WorkerMetrics());
  if (!address.empty()) {
    try {
      m->exposer_ = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
    }
  }
  prometheus::Registry& r = *m->registry_;
  m->lag_events_ = &prometheus::BuildGauge()
                        .Name("zeva_outbox_lag_events")
                        .Help("Committed events not yet delivered, by channel (publish, mail).")
                        .Register(r);
  m->lag_seconds_ = &prometheus::BuildGauge()
                         .Name("zeva_outbox_lag_seconds")
                         .Help("Age of the oldest event not yet delivered, by channel.")
                         .Register(r);
  m->dead_events_ = &prometheus::BuildGauge()
                         .Name("zeva_outbox_dead_letter_events")
                         .Help(
                             "Events a channel gave up on (dead letters), by channel, in the "
                             "database: alert when above 0.")
                         .Register(r);
  m->dead_letters_ = &prometheus::BuildCounter()
                          .Name("zeva_outbox_dead_letters_total")
                          .Help(
                              "Events this worker dead-lettered, by channel and reason "
                              "(undecodable, attempts).")
                          .Register(r);
  m->published_ = &prometheus::BuildCounter()
                       .Name("zeva_worker_messages_published_total")
                       .Help("Messages handed to RabbitMQ.")
                       .Register(r)
                       .Add({});
  m->confirms_ = &prometheus::BuildCounter()
                      .Name("zeva_worker_confirms_total")
                      .Help("Publisher confirms received, by result (ack, nack).")
                      .Register(r);
  m->delivered_ = &prometheus::BuildCounter()
                       .Name("zeva_worker_events_delivered_total")
                       .Help("Events delivered, by channel.")
                       .Register(r);
  m->failures_ = &prometheus::BuildCounter()
                      .Name("zeva_worker_delivery_failures_total")
                      .Help("Failed delivery attempts, by channel and reason.")
                      .Register(r);
  m->mails_ = &prometheus::BuildCounter()
                   .Name("zeva_worker_mails_sent_total")
                   .Help("E-mails accepted by the mail server.")
                   .Register(r)
                   .Add({});
  m->latency_ = &prometheus::BuildHistogram()
                     .Name("zeva_worker_delivery_latency_seconds")
                     .Help("Time from an event's transaction to its delivery, by channel.")
                     .Register(r);
  m->broker_connected_ = &prometheus::BuildGauge()
                              .Name("zeva_worker_broker_connected")
                              .Help("1 while the worker holds a connection to RabbitMQ.")
                              .Register(r)
                              .Add({});
  m->pruned_ = &prometheus::BuildCounter()
                    .Name("zeva_outbox_pruned_total")
                    .Help("Delivered events deleted after the retention.")
                    .Register(r)
                    .Add({});
  m->audit_violations_ = &prometheus::BuildGauge()
                              .Name("zeva_ledger_audit_violations")
                              .Help(
                                  "Violations of the credit ledger's invariants found by the "
                                  "last periodic audit: alert above 0.")
                              .Register(r)
                              .Add({});
  prometheus::BuildGauge()
      .Name("zeva_build_info")
      .Help("Always 1; the labels name the running build.")
      .Register(r)
      .Add({{"version", version}, {"binary", "zeva-worker"}})
      .Set(1);
  if (m->exposer_) m->exposer_->RegisterCollectable(m->registry_);
  return m;
}

void WorkerMetrics::SetLag(const char* channel, double events, double seconds, double dead) {
  lag_events_->Add({{"channel", channel}}).Set(events);
  lag_seconds_->Add({{"channel", channel}}).Set(seconds);
  dead_events_->Add({{"channel", channel}}).Set(dead);
}
void WorkerMetrics::AddPublished(double messages) { published_->Increment(messages); }
void WorkerMetrics::AddConfirms(double acked, double nacked) {
  if (acked > 0) confirms_->Add({{"result", "ack"}}).Increment(acked);
  if (nacked > 0) confirms_->Add({{"result", "nack"}}).Increment(nacked);
}
void WorkerMetrics::EventsDelivered(const char* channel, double events) {
  delivered_->Add({{"channel", channel}}).Increment(events);
}
void WorkerMetrics::DeliveryFailed(const char* channel, const char* reason) {
  failures_->Add({{"channel", channel}, {"reason", reason}}).Increment();
}
void WorkerMetrics::DeadLettered(const char* channel, const char* reason) {
  dead_letters_->Add({{"channel", channel}, {"reason", reason}}).Increment();
}
void WorkerMetrics::MailsSent(double mails) { mails_->Increment(mails); }
void WorkerMetrics::ObserveLatency(const char* channel, double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  latency_->Add({{"channel", channel}}, kBuckets).Observe(seconds);
}
void WorkerMetrics::SetBrokerConnected(bool connected) {
  broker_connected_->Set(connected ? 1 : 0);
}
void WorkerMetrics::EventsPruned(double events) { pruned_->Increment(events); }
void WorkerMetrics::SetAuditViolations(double violations) { audit_violations_->Set(violations); }

int WorkerMetrics::port() const {
  if (!exposer_) return 0;
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace zeva::worker
