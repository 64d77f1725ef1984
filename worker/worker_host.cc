#include "worker/worker_host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "db/change_feed.h"
#include "db/connection.h"
#include "db/icbc_store.h"
#include "db/ledger_audit.h"
#include "db/outbox_store.h"
#include "db/pool.h"
#include "runtime/shutdown.h"
#include "spdlog/spdlog.h"
#include "worker/icbc_lane.h"
#include "worker/lane_support.h"
#include "worker/mail_lane.h"
#include "worker/publish_lane.h"
#include "worker/wakeup.h"
#include "worker/worker_metrics.h"

namespace zeva::worker {
namespace {

constexpr char kReadinessService[] = "zeva.worker";
constexpr auto kMonitorPeriod = std::chrono::seconds(2);
constexpr int kPruneBatch = 1000;

// The credit ledger's invariants, checked in one read-only snapshot
// (db/ledger_audit.h); the outbox checks are left out, since pruning delivered
// events is expected to break them.
void RunLedgerAudit(const config::WorkerConfig& config, WorkerMetrics& metrics) {
  auto violations = db::AuditLedger(config.database_url, /*outbox=*/false);
  if (!violations.ok()) {
    spdlog::warn("ledger audit failed: {}", violations.status().ToString());
    return;
  }
  metrics.SetAuditViolations(static_cast<double>(violations->size()));
  for (const std::string& violation : *violations) {
    spdlog::error("ledger audit: {}", violation);
  }
}

// Every kMonitorPeriod: the lag gauges, readiness, and pruning and the ledger
// audit when due.
void Monitor(db::OutboxStore& store, const config::WorkerConfig& config, WorkerMetrics& metrics,
             const PublishLane& lane, grpc::HealthCheckServiceInterface* health, Wakeup& wakeup) {
  auto next_prune = std::chrono::steady_clock::now();
  auto next_audit = std::chrono::steady_clock::now();
  int last_ready = -1;
  while (!wakeup.stopping()) {
    bool database_ok = true;
    for (db::OutboxChannel channel : {db::OutboxChannel::kPublish, db::OutboxChannel::kMail}) {
      if (channel == db::OutboxChannel::kMail && config.smtp_url.empty()) continue;
      auto lag = store.Lag(channel, DatabaseBudget());
      if (lag.ok()) {
        metrics.SetLag(db::OutboxChannelName(channel), static_cast<double>(lag->events),
                       lag->seconds, static_cast<double>(lag->dead));
      } else {
        database_ok = false;
      }
    }
    if (database_ok && std::chrono::steady_clock::now() >= next_prune) {
      next_prune =
          std::chrono::steady_clock::now() + std::chrono::seconds(config.prune_interval_seconds);
      int64_t pruned = 0;
      for (;;) {
        auto n =
            store.Prune(std::chrono::hours(config.retention_hours), kPruneBatch, DatabaseBudget());
        if (!n.ok()) {
          spdlog::warn("pruning delivered outbox events failed: {}", n.status().ToString());
          break;
        }
        pruned += *n;
        if (*n < kPruneBatch || wakeup.stopping()) break;
      }
      if (pruned > 0) {
        metrics.EventsPruned(static_cast<double>(pruned));
        spdlog::info("pruned {} outbox events delivered more than {} h ago", pruned,
                     config.retention_hours);
      }
    }
    if (config.ledger_audit_interval_seconds > 0 && database_ok &&
        std::chrono::steady_clock::now() >= next_audit) {
      next_audit = std::chrono::steady_clock::now() +
                   std::chrono::seconds(config.ledger_audit_interval_seconds);
      RunLedgerAudit(config, metrics);
    }
    const int ready = database_ok && lane.broker_ok() ? 1 : 0;
    if (ready != last_ready && health != nullptr) {
      health->SetServingStatus(kReadinessService, ready == 1);
      spdlog::info("readiness: {}", ready == 1 ? "SERVING" : "NOT_SERVING (database or broker)");
      last_ready = ready;
    }
    wakeup.SleepFor(kMonitorPeriod);
  }
}

// The gRPC health endpoint: "" SERVING at once, kReadinessService NOT_SERVING
// until the monitor finds the database and the broker. None when HEALTH_PORT is
// 0.
struct HealthEndpoint {
  std::unique_ptr<grpc::Server> server;
  grpc::HealthCheckServiceInterface* health = nullptr;
};

absl::StatusOr<HealthEndpoint> ServeHealth(const config::WorkerConfig& config) {
  HealthEndpoint endpoint;
  if (config.health_port <= 0) return endpoint;
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC 1.51 builds no server without a service of its own (the health service
  // is added later): reflection, which the worker served since it was linked
  // with the server's libraries.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(config.health_address, ":", config.health_port),
                           grpc::InsecureServerCredentials());
  endpoint.server = builder.BuildAndStart();
  if (endpoint.server == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC health on port ", config.health_port));
  }
  endpoint.health = endpoint.server->GetHealthCheckService();
  endpoint.health->SetServingStatus("", true);
  endpoint.health->SetServingStatus(kReadinessService, false);
  return endpoint;
}

db::PoolOptions PoolOptionsFor(const config::WorkerConfig& config) {
  db::PoolOptions options;
  options.url = config.database_url;
  options.size = config.db_pool_size;
  options.acquire_timeout = std::chrono::milliseconds(10000);
  options.connect_timeout_seconds = config.db_connect_timeout_seconds;
  options.application_name = "zeva-worker";
  return options;
}

LaneTiming TimingOf(const config::WorkerConfig& config) {
  return LaneTiming{std::chrono::milliseconds(config.poll_interval_ms),
                    std::chrono::milliseconds(config.retry_initial_ms),
                    std::chrono::milliseconds(config.retry_max_ms)};
}

RetryPolicy RetryOf(const config::WorkerConfig& config) {
  return RetryPolicy{std::chrono::milliseconds(config.retry_initial_ms),
                     std::chrono::milliseconds(config.retry_max_ms), config.max_attempts};
}

broker::AmqpOptions AmqpOptionsOf(const config::WorkerConfig& config) {
  return broker::AmqpOptions{
      config.rabbitmq_url, std::chrono::milliseconds(config.broker_connect_timeout_ms),
      std::chrono::milliseconds(config.broker_confirm_timeout_ms), config.broker_heartbeat_seconds};
}

IcbcLaneOptions IcbcOptionsOf(const config::WorkerConfig& config) {
  return IcbcLaneOptions{std::chrono::milliseconds(config.icbc_lease_ms),
                         std::chrono::seconds(config.icbc_abandoned_after_seconds),
                         std::chrono::seconds(config.icbc_cleanup_interval_seconds),
                         std::chrono::seconds(config.icbc_import_timeout_seconds)};
}

// The delivery lanes and what they deliver with: RabbitMQ always, e-mail with
// SMTP_URL, and ICBC imports (one at a time).
struct Lanes {
  Lanes(const config::WorkerConfig& config, db::ConnectionPool& pool, db::OutboxStore& store,
        WorkerMetrics& metrics)
      : timing(TimingOf(config)),
        publisher(AmqpOptionsOf(config)),
        publish(store, publisher, metrics,
                PublishLaneOptions{config.publish_batch_size,
                                   std::chrono::milliseconds(config.claim_lease_ms),
                                   RetryOf(config), config.mail_disabled}),
        icbc_store(pool),
        icbc(icbc_store, IcbcOptionsOf(config)) {
    if (config.smtp_url.empty()) return;
    mailer = std::make_unique<mail::SmtpMailer>(mail::SmtpOptions{
        config.smtp_url, config.smtp_from, std::chrono::milliseconds(config.smtp_timeout_ms)});
    mail = std::make_unique<MailLane>(
        store, *mailer, metrics,
        MailLaneOptions{config.mail_batch_size, std::chrono::milliseconds(config.claim_lease_ms),
                        RetryOf(config)});
  }

  const LaneTiming timing;
  broker::AmqpPublisher publisher;
  PublishLane publish;
  std::unique_ptr<mail::SmtpMailer> mailer;  // with mail: both, or neither
  std::unique_ptr<MailLane> mail;
  db::IcbcStore icbc_store;
  IcbcLane icbc;
};

// Wakes the lanes when events commit (or an import is committed), and when the
// LISTEN connection is open again (what was announced meanwhile went to
// nobody); the lanes' polling covers the time without it.
std::unique_ptr<db::ChangeFeed> WakeLanesOnCommit(const config::WorkerConfig& config,
                                                  Wakeup& outbox, Wakeup& icbc) {
  return std::make_unique<db::ChangeFeed>(
      db::ChangeFeed::Options{config.database_url,
                              {db::kOutboxChannel, db::kIcbcChannel},
                              "zeva-worker-listen",
                              config.db_connect_timeout_seconds},
      [&outbox, &icbc](const std::string& channel, const std::string& /*payload*/) {
        (channel == db::kIcbcChannel ? icbc : outbox).Notify();
      },
      [&outbox, &icbc] {
        outbox.Notify();
        icbc.Notify();
      });
}

// A thread per lane, and the monitor's.
std::vector<std::thread> StartThreads(const config::WorkerConfig& config, Lanes& lanes,
                                      db::OutboxStore& store, WorkerMetrics& metrics,
                                      grpc::HealthCheckServiceInterface* health, Wakeup& wakeup,
                                      Wakeup& icbc_wakeup) {
  // Every capture refers to what RunWorker owns (by reference) or is a copied
  // pointer.
  std::vector<std::thread> threads;
  threads.emplace_back([&lanes, &wakeup] { RunLane(lanes.publish, wakeup, lanes.timing); });
  if (lanes.mail) {
    threads.emplace_back([&lanes, &wakeup] { RunLane(*lanes.mail, wakeup, lanes.timing); });
  }
  threads.emplace_back([&lanes, &icbc_wakeup] { RunLane(lanes.icbc, icbc_wakeup, lanes.timing); });
  threads.emplace_back([&store, &config, &metrics, &lanes, health, &wakeup] {
    Monitor(store, config, metrics, lanes.publish, health, wakeup);
  });
  return threads;
}

void LogStarted(const config::WorkerConfig& config, int metrics_port) {
  spdlog::info(
      "zeva-worker {} delivering the outbox of {} to RabbitMQ{}; "
      "health on port {}, metrics "
      "on port {}",
      ZEVA_VERSION, db::RedactUrl(config.database_url),
      !config.smtp_url.empty() ? " and by e-mail"
      : config.mail_disabled   ? " (MAIL_DISABLED: no e-mail; events count as mailed)"
                               : " (no SMTP_URL: e-mail is left to replicas that have it)",
      config.health_port, metrics_port);
}

// Waits for SIGTERM or SIGINT, then: NOT_SERVING, and the lanes told to stop
// after the batches in hand.
void StopOnSignal(const config::WorkerConfig& config, grpc::HealthCheckServiceInterface* health,
                  Wakeup& wakeup, Wakeup& icbc_wakeup) {
  const std::string signal_name = runtime::WaitForShutdownSignal();
  spdlog::info("received {}, finishing the batches in hand (up to {} s)", signal_name,
               config.shutdown_grace_seconds);
  if (health != nullptr) health->SetServingStatus(kReadinessService, false);
  wakeup.Stop();
  icbc_wakeup.Stop();
  // A lane stuck in a broker or mail call past the grace must not keep the pod
  // alive: what it holds is unrecorded, so another worker delivers it again
  // after the lease.
  const int give_up_after = config.shutdown_grace_seconds + 3;
  runtime::ExitAfter(std::chrono::seconds(give_up_after),
                     absl::StrCat("batches still in hand ", give_up_after,
                                  " s after the shutdown signal; exiting"));
}

}  // namespace

int RunWorker(const config::WorkerConfig& config) {
  std::signal(SIGPIPE,
              SIG_IGN);  // a peer that closed must be an error code, not a death
  auto metrics = WorkerMetrics::Serve(
      config.metrics_port > 0 ? absl::StrCat(config.health_address, ":", config.metrics_port) : "",
      ZEVA_VERSION);
  if (!metrics.ok()) {
    spdlog::critical("{}", metrics.status().ToString());
    return 1;
  }
  absl::StatusOr<HealthEndpoint> health = ServeHealth(config);
  if (!health.ok()) {
    spdlog::critical("{}", std::string(health.status().message()));
    return 1;
  }
  db::ConnectionPool pool(PoolOptionsFor(config));
  db::OutboxStore store(pool);
  Wakeup wakeup;
  Wakeup icbc_wakeup;  // ICBC imports have a thread and wake-up of their own
  Lanes lanes(config, pool, store, **metrics);
  const std::unique_ptr<db::ChangeFeed> feed = WakeLanesOnCommit(config, wakeup, icbc_wakeup);
  std::vector<std::thread> threads =
      StartThreads(config, lanes, store, **metrics, health->health, wakeup, icbc_wakeup);
  LogStarted(config, (*metrics)->port());
  StopOnSignal(config, health->health, wakeup, icbc_wakeup);
  for (std::thread& t : threads) t.join();
  if (health->server) health->server->Shutdown(std::chrono::system_clock::now());
  spdlog::info("zeva-worker stopped");
  return 0;
}

}  // namespace zeva::worker
