#include "metrics/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace zeva::metrics {
namespace {

prometheus::MetricFamily Single(const std::string& name, const std::string& help,
                                prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return prometheus::MetricFamily{name, help, type, {metric}};
}

// Reads pool and JWKS figures when Prometheus scrapes, so they are never stale.
class SourceCollector : public prometheus::Collectable {
 public:
  explicit SourceCollector(Sources sources) : sources_(std::move(sources)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    auto add = [&out](const std::string& name, const std::string& help, MetricType type,
                      const auto& source) {
      if (source) out.push_back(Single(name, help, type, static_cast<double>(source())));
    };
    add("zeva_db_pool_connections", "Connections open in the pool.", MetricType::Gauge,
        sources_.pool_open);
    add("zeva_db_pool_in_use", "Pool connections leased to calls.", MetricType::Gauge,
        sources_.pool_in_use);
    add("zeva_db_pool_waiting", "Calls waiting for a pool connection.", MetricType::Gauge,
        sources_.pool_waiting);
    add("zeva_call_threads",
        "Threads that run calls (busy and idle); a call beyond --max-threads is refused.",
        MetricType::Gauge, sources_.call_threads);
    add("zeva_call_threads_busy", "Threads running a call now.", MetricType::Gauge,
        sources_.call_threads_busy);
    add("zeva_db_pool_broken_total", "Connections dropped as broken.", MetricType::Counter,
        sources_.pool_broken_total);
    add("zeva_db_pool_owner_refusals_total",
        "Calls refused RESOURCE_EXHAUSTED because their user held its share of the pool.",
        MetricType::Counter, sources_.pool_owner_refusals_total);
    add("zeva_db_transaction_retries_total",
        "Transactions run again after PostgreSQL aborted them (deadlock, serialization failure).",
        MetricType::Counter, sources_.db_transaction_retries_total);
    add("zeva_jwks_refreshes_total", "Successful JWKS downloads.", MetricType::Counter,
        sources_.jwks_refreshes_total);
    add("zeva_jwks_failures_total", "Failed JWKS downloads.", MetricType::Counter,
        sources_.jwks_failures_total);
    add("zeva_balance_cache_hits_total", "GetBalances answered from memory.", MetricType::Counter,
        sources_.balance_cache_hits_total);
    add("zeva_balance_cache_misses_total",
        "GetBalances read from the database, then kept in memory.", MetricType::Counter,
        sources_.balance_cache_misses_total);
    add("zeva_balance_cache_bypassed_total",
        "GetBalances read from the database without the cache: its LISTEN connection was "
        "down or did not answer in time.",
        MetricType::Counter, sources_.balance_cache_bypassed_total);
    add("zeva_model_cache_hits_total", "ListModels answered from memory.", MetricType::Counter,
        sources_.model_cache_hits_total);
    add("zeva_model_cache_misses_total", "ListModels read from the database.", MetricType::Counter,
        sources_.model_cache_misses_total);
    add("zeva_model_cache_bypassed_total",
        "ListModels read from the database without the cache: its LISTEN connection was "
        "down or did not answer in time.",
        MetricType::Counter, sources_.model_cache_bypassed_total);
    add("zeva_read_cache_listening",
        "1 while the replica's LISTEN connection is open (the read caches answer), else 0.",
        MetricType::Gauge, sources_.read_cache_listening);
    add("zeva_read_cache_round_trips_total",
        "Round trips on the LISTEN connection that proved the caches current (one serves every "
        "call waiting at that moment).",
        MetricType::Counter, sources_.read_cache_round_trips_total);
    add("zeva_read_cache_server_changes_total",
        "LISTEN reconnects that reached another PostgreSQL server or timeline (failover, a "
        "fresh database behind the same URL); each dropped every cached read.",
        MetricType::Counter, sources_.read_cache_server_changes_total);
    return out;
  }

 private:
  Sources sources_;
};

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

Metrics::~Metrics() = default;

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Serve(const std::string& address, Sources sources,
                                                        const std::string& version) {
  std::unique_ptr<Metrics> metrics(new Metrics());
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  metrics->calls_ = &prometheus::BuildCounter()
                         .Name("zeva_grpc_calls_total")
                         .Help("Contract RPCs by method and gRPC status code.")
                         .Register(*metrics->registry_);
  metrics->latency_ = &prometheus::BuildHistogram()
                           .Name("zeva_grpc_call_duration_seconds")
                           .Help("Time from the start of an RPC to its status, by method.")
                           .Register(*metrics->registry_);
  prometheus::BuildGauge()
      .Name("zeva_build_info")
      .Help("Always 1; the labels name the running build.")
      .Register(*metrics->registry_)
      .Add({{"version", version}})
      .Set(1);
  auto collector = std::make_shared<SourceCollector>(std::move(sources));
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  metrics->exposer_->RegisterCollectable(collector);
  metrics->collector_ = collector;
  return metrics;
}

void Metrics::ObserveCall(const char* method, absl::StatusCode code, double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  calls_->Add({{"method", method}, {"code", absl::StatusCodeToString(code)}}).Increment();
  latency_->Add({{"method", method}}, kBuckets).Observe(seconds);
}

int Metrics::port() const {
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace zeva::metrics
