#pragma once
// zeva-worker's Prometheus metrics (prometheus-cpp), served on METRICS_PORT: outbox lag in
// events and seconds per channel, messages published and confirmed, deliveries and
// failures, commit-to-delivery latency.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace zeva::worker {

class WorkerMetrics {
 public:
  // Serves on `address` ("0.0.0.0:9103"); `address` empty: counts but serves nothing.
  static absl::StatusOr<std::unique_ptr<WorkerMetrics>> Serve(const std::string& address,
                                                              const std::string& version);
  ~WorkerMetrics();

  // Thread-safe.
  void SetLag(const char* channel, double events, double seconds, double dead);
  void AddPublished(double messages);
  void AddConfirms(double acked, double nacked);
  void EventsDelivered(const char* channel, double events);
  void DeliveryFailed(const char* channel, const char* reason);
  // An event dead-lettered by this worker; `reason` "undecodable" or "attempts".
  void DeadLettered(const char* channel, const char* reason);
  void MailsSent(double mails);
  void ObserveLatency(const char* channel, double seconds);
  void SetBrokerConnected(bool connected);
  void EventsPruned(double events);
  void SetAuditViolations(double violations);
  int port() const;

 private:
  WorkerMetrics();
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Gauge>* lag_events_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lag_seconds_ = nullptr;
  prometheus::Family<prometheus::Gauge>* dead_events_ = nullptr;
  prometheus::Family<prometheus::Counter>* dead_letters_ = nullptr;
  prometheus::Counter* published_ = nullptr;
  prometheus::Family<prometheus::Counter>* confirms_ = nullptr;
  prometheus::Family<prometheus::Counter>* delivered_ = nullptr;
  prometheus::Family<prometheus::Counter>* failures_ = nullptr;
  prometheus::Counter* mails_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  prometheus::Gauge* broker_connected_ = nullptr;
  prometheus::Counter* pruned_ = nullptr;
  prometheus::Gauge* audit_violations_ = nullptr;
};

}  // namespace zeva::worker
