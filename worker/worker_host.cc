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

// The credit ledger's invariants, checked in one read-only snapshot (db/ledger_audit.h); the
// outbox checks are left out, since pruning delivered events is expected to break them.
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

// Every kMonitorPeriod: the lag gauges, readiness, and pruning and the ledger audit when due.
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

}  // namespace

int RunWorker(const config::WorkerConfig& config) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer that closed must be an error code, not a death
  auto metrics = WorkerMetrics::Serve(
      config.metrics_port > 0 ? absl::StrCat(config.health_address, ":", config.metrics_port) : "",
      ZEVA_VERSION);
  if (!metrics.ok()) {
    spdlog::critical("{}", metrics.status().ToString());
    return 1;
  }
  std::unique_ptr<grpc::Server> health_server;
  grpc::HealthCheckServiceInterface* health = nullptr;
  if (config.health_port > 0) {
    grpc::EnableDefaultHealthCheckService(true);
    // gRPC 1.51 builds no server without a service of its own (the health service is added
    // later): reflection, which the worker served since it was linked with the server's libraries.
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat(config.health_address, ":", config.health_port),
                             grpc::InsecureServerCredentials());
    health_server = builder.BuildAndStart();
    if (health_server == nullptr) {
      spdlog::critical("cannot serve gRPC health on port {}", config.health_port);
      return 1;
    }
    health = health_server->GetHealthCheckService();
    health->SetServingStatus("", true);
    health->SetServingStatus(kReadinessService, false);
  }

  db::PoolOptions pool_options;
  pool_options.url = config.database_url;
  pool_options.size = config.db_pool_size;
  pool_options.acquire_timeout = std::chrono::milliseconds(10000);
  pool_options.connect_timeout_seconds = config.db_connect_timeout_seconds;
  pool_options.application_name = "zeva-worker";
  db::ConnectionPool pool(pool_options);
  db::OutboxStore store(pool);
  Wakeup wakeup;

  const LaneTiming timing{std::chrono::milliseconds(config.poll_interval_ms),
                          std::chrono::milliseconds(config.retry_initial_ms),
                          std::chrono::milliseconds(config.retry_max_ms)};
  const RetryPolicy retry{timing.retry_initial, timing.retry_max, config.max_attempts};
  broker::AmqpPublisher publisher(broker::AmqpOptions{
      config.rabbitmq_url, std::chrono::milliseconds(config.broker_connect_timeout_ms),
      std::chrono::milliseconds(config.broker_confirm_timeout_ms),
      config.broker_heartbeat_seconds});
  PublishLane publish_lane(store, publisher, **metrics,
                           PublishLaneOptions{config.publish_batch_size,
                                              std::chrono::milliseconds(config.claim_lease_ms),
                                              retry, config.mail_disabled});
  std::unique_ptr<mail::SmtpMailer> mailer;
  std::unique_ptr<MailLane> mail_lane;
  if (!config.smtp_url.empty()) {
    mailer = std::make_unique<mail::SmtpMailer>(mail::SmtpOptions{
        config.smtp_url, config.smtp_from, std::chrono::milliseconds(config.smtp_timeout_ms)});
    mail_lane = std::make_unique<MailLane>(
        store, *mailer, **metrics,
        MailLaneOptions{config.mail_batch_size, std::chrono::milliseconds(config.claim_lease_ms),
                        retry});
  }

  // ICBC imports: one at a time, on a thread and wake-up of their own.
  db::IcbcStore icbc_store(pool);
  Wakeup icbc_wakeup;
  IcbcLane icbc_lane(icbc_store,
                     IcbcLaneOptions{std::chrono::milliseconds(config.icbc_lease_ms),
                                     std::chrono::seconds(config.icbc_abandoned_after_seconds),
                                     std::chrono::seconds(config.icbc_cleanup_interval_seconds),
                                     std::chrono::seconds(config.icbc_import_timeout_seconds)});

  // Wakes the lanes when events commit (or an import is committed), and when the LISTEN
  // connection is open again (what was announced meanwhile went to nobody); the lanes'
  // polling covers the time without it.
  db::ChangeFeed outbox_feed(
      db::ChangeFeed::Options{config.database_url,
                              {db::kOutboxChannel, db::kIcbcChannel},
                              "zeva-worker-listen",
                              config.db_connect_timeout_seconds},
      [&wakeup, &icbc_wakeup](const std::string& channel, const std::string& /*payload*/) {
        (channel == db::kIcbcChannel ? icbc_wakeup : wakeup).Notify();
      },
      [&wakeup, &icbc_wakeup] {
        wakeup.Notify();
        icbc_wakeup.Notify();
      });

  std::vector<std::thread> threads;
  threads.emplace_back([&] { RunLane(publish_lane, wakeup, timing); });
  if (mail_lane) threads.emplace_back([&] { RunLane(*mail_lane, wakeup, timing); });
  threads.emplace_back([&] { RunLane(icbc_lane, icbc_wakeup, timing); });
  threads.emplace_back([&] { Monitor(store, config, **metrics, publish_lane, health, wakeup); });

  spdlog::info(
      "zeva-worker {} delivering the outbox of {} to RabbitMQ{}; health on port {}, metrics "
      "on port {}",
      ZEVA_VERSION, db::RedactUrl(config.database_url),
      !config.smtp_url.empty() ? " and by e-mail"
      : config.mail_disabled   ? " (MAIL_DISABLED: no e-mail; events count as mailed)"
                               : " (no SMTP_URL: e-mail is left to replicas that have it)",
      config.health_port, (*metrics)->port());

  const std::string signal_name = runtime::WaitForShutdownSignal();
  spdlog::info("received {}, finishing the batches in hand (up to {} s)", signal_name,
               config.shutdown_grace_seconds);
  if (health != nullptr) health->SetServingStatus(kReadinessService, false);
  wakeup.Stop();
  icbc_wakeup.Stop();
  // A lane stuck in a broker or mail call past the grace must not keep the pod alive: what
  // it holds is unrecorded, so another worker delivers it again after the lease.
  const int give_up_after = config.shutdown_grace_seconds + 3;
  runtime::ExitAfter(std::chrono::seconds(give_up_after),
                     absl::StrCat("batches still in hand ", give_up_after,
                                  " s after the shutdown signal; exiting"));
  for (std::thread& t : threads) t.join();
  if (health_server) health_server->Shutdown(std::chrono::system_clock::now());
  spdlog::info("zeva-worker stopped");
  return 0;
}

}  // namespace zeva::worker
