#pragma once
// Prometheus metrics (prometheus-cpp), served as text on an HTTP port: calls by method and
// status code, call latency, connection pool use, JWKS refreshes, and build info.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace prometheus {
class Exposer;
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
class Gauge;
}  // namespace prometheus

namespace zeva::metrics {

// Values read at scrape time from other components (no polling thread).
struct Sources {
  std::function<int()> pool_open;
  std::function<int()> pool_in_use;
  std::function<int()> pool_waiting;
  std::function<int64_t()> pool_broken_total;
  std::function<int64_t()> pool_owner_refusals_total;
  std::function<int64_t()> jwks_refreshes_total;
  std::function<int64_t()> jwks_failures_total;
  std::function<int64_t()> balance_cache_hits_total;
  std::function<int64_t()> balance_cache_misses_total;
  std::function<int64_t()> balance_cache_bypassed_total;
  std::function<int64_t()> model_cache_hits_total;
  std::function<int64_t()> model_cache_misses_total;
  std::function<int64_t()> model_cache_bypassed_total;
  std::function<int()> read_cache_listening;
  std::function<int64_t()> read_cache_round_trips_total;
  std::function<int64_t()> db_transaction_retries_total;
  std::function<int64_t()> read_cache_server_changes_total;
  std::function<int()> call_threads;       // services/blocking_pool: alive (busy and idle)
  std::function<int()> call_threads_busy;  // running a call
};

class Metrics {
 public:
  // Serves on `address` (e.g. "0.0.0.0:9102"); INVALID_ARGUMENT/UNAVAILABLE when it cannot.
  static absl::StatusOr<std::unique_ptr<Metrics>> Serve(const std::string& address, Sources sources,
                                                        const std::string& version);
  ~Metrics();

  // Thread-safe; called once per RPC.
  void ObserveCall(const char* method, absl::StatusCode code, double seconds);
  // The port actually bound (useful with port 0).
  int port() const;

 private:
  Metrics();
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>* calls_ = nullptr;
  prometheus::Family<prometheus::Histogram>* latency_ = nullptr;
  std::shared_ptr<void> collector_;
};

}  // namespace zeva::metrics
