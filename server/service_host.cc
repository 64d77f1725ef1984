#include "server/service_host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "auth/authenticator.h"
#include "db/application_store.h"
#include "db/compliance_store.h"
#include "db/fresh_reads.h"
#include "db/icbc_store.h"
#include "db/idempotency.h"
#include "db/ledger_store.h"
#include "db/notification_store.h"
#include "db/pool.h"
#include "db/probe.h"
#include "db/transaction_store.h"
#include "db/transfer_store.h"
#include "db/user_store.h"
#include "db/vehicle_store.h"
#include "grpc/health/v1/health.pb.h"
#include "metrics/metrics.h"
#include "server/readiness.h"
#include "server/transport.h"
#include "services/call_guard.h"
#include "services/compliance_service.h"
#include "services/credit_admin_service.h"
#include "services/credit_application_service.h"
#include "services/credit_ledger_service.h"
#include "services/credit_transfer_service.h"
#include "services/icbc_service.h"
#include "services/identity_service.h"
#include "services/notification_service.h"
#include "services/organization_details_service.h"
#include "services/transaction_list_service.h"
#include "services/unparsed_request.h"
#include "services/zev_models_service.h"
#include "spdlog/spdlog.h"

namespace zeva::server {
namespace {

// Names under which health is reported: "" for the whole server, and each contract service.
const std::vector<std::string> kServiceNames = {
    "zeva.transactions.TransactionList",     "zeva.organizations.OrganizationDetails",
    "zeva.transactions.ZEVModels",           "zeva.credits.v1.IdentityService",
    "zeva.credits.v1.CreditLedgerService",   "zeva.credits.v1.CreditAdminService",
    "zeva.credits.v1.CreditTransferService", "zeva.credits.v1.NotificationService",
    "zeva.credits.v1.IcbcService",           "zeva.credits.v1.CreditApplicationService",
    "zeva.credits.v1.ComplianceService",
};

// Users come from the database; authentication sees them as callers.
auth::UserLookup LookupIn(db::UserStore& users) {
  return [&users](const std::string& user_id,
                  db::Clock::time_point deadline) -> absl::StatusOr<std::optional<auth::Caller>> {
    // Not counted against the user's share: the lookup runs before the caller is known.
    auto user = users.Find(user_id, db::Budget{deadline, ""});
    if (!user.ok()) return user.status();
    if (!user->has_value()) return std::nullopt;
    const db::UserRecord& u = **user;
    return auth::Caller{u.username,
                        u.organization_id,
                        u.organization_name,
                        u.government ? auth::OrganizationType::kGovernment
                                     : auth::OrganizationType::kVehicleSupplier,
                        u.roles,
                        u.email};
  };
}

// How long past the shutdown grace the process waits for stuck calls before it exits anyway.
constexpr std::chrono::seconds kForcedExitMargin{3};

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int RunServer(const config::ServerConfig& config) {
  db::ConnectionPool pool(
      db::PoolOptions{config.database_url, config.db_pool_size,
                      std::chrono::milliseconds(config.db_acquire_timeout_ms),
                      config.db_connect_timeout_seconds, "zeva-transaction-service",
                      std::max(1, config.db_pool_size * config.db_pool_caller_share_percent / 100),
                      config.db_peer_timeout_ms});
  db::UserStore users(pool);
  db::TransactionStore transaction_store(pool);
  db::VehicleStore vehicle_store(pool);
  db::LedgerStore ledger_store(pool);
  db::IdempotencyStore idempotency_store(pool);
  auto fresh_reads = config.read_cache
                         ? std::make_unique<db::FreshReads>(
                               ledger_store, vehicle_store, config.database_url,
                               config.db_connect_timeout_seconds, config.db_peer_timeout_ms)
                         : std::make_unique<db::FreshReads>(ledger_store, vehicle_store);
  pool.WatchServers([r = fresh_reads.get()](const std::string& server) { r->ServerSeen(server); });
  db::TransferStore transfer_store(pool);
  db::IcbcStore icbc_store(pool);
  db::ApplicationStore application_store(pool);
  db::ComplianceStore compliance_store(pool);
  db::NotificationStore notification_store(pool);
  auto authenticator = auth::Authenticator::Create(config.keycloak, LookupIn(users));
  if (!authenticator.ok()) {
    spdlog::critical("authentication set-up failed: {}",
                     std::string(authenticator.status().message()));
    return 2;
  }
  auth::Authenticator* keys = authenticator->get();

  std::unique_ptr<metrics::Metrics> metrics;
  if (config.metrics_port != 0) {
    auto served = metrics::Metrics::Serve(
        absl::StrCat(config.listen_address, ":", config.metrics_port),
        metrics::Sources{
            [&pool] { return pool.Stats().size; }, [&pool] { return pool.Stats().in_use; },
            [&pool] { return pool.Stats().waiting; }, [&pool] { return pool.Stats().broken; },
            [&pool] { return pool.Stats().owner_refusals; },
            [keys] { return static_cast<int64_t>(keys->Stats().downloads_ok); },
            [keys] { return static_cast<int64_t>(keys->Stats().download_failures); },
            [r = fresh_reads.get()] { return r->balance_stats().hits; },
            [r = fresh_reads.get()] { return r->balance_stats().misses; },
            [r = fresh_reads.get()] { return r->balance_stats().bypassed; },
            [r = fresh_reads.get()] { return r->model_stats().hits; },
            [r = fresh_reads.get()] { return r->model_stats().misses; },
            [r = fresh_reads.get()] { return r->model_stats().bypassed; },
            [r = fresh_reads.get()] { return r->listening() ? 1 : 0; },
            [r = fresh_reads.get()] { return r->round_trips(); },
            [&pool] { return pool.Stats().retries; },
            [r = fresh_reads.get()] { return r->server_changes(); }},
        ZEVA_VERSION);
    if (!served.ok()) {
      spdlog::critical("{}", std::string(served.status().message()));
      return 1;
    }
    metrics = std::move(*served);
    spdlog::info("metrics on http://{}:{}/metrics", config.listen_address, metrics->port());
  }
  services::CallObserver observer;
  if (metrics) {
    observer = [m = metrics.get()](const char* method, absl::StatusCode code, double seconds) {
      m->ObserveCall(method, code, seconds);
    };
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<services::UnparsedRequestInterceptorFactory>(
      observer, services::CreditLedgerService::CallbackMethods()));
  // The callback-API calls' waiting (database reads, user lookups) happens here: as many
  // threads as database connections, which is all such work can use at once.
  services::BlockingPool blocking(config.db_pool_size);
  services::CallGuard guard(**authenticator, std::move(observer),
                            std::chrono::milliseconds(config.default_deadline_ms), blocking);
  services::TransactionListService transactions(guard, transaction_store);
  services::OrganizationDetailsService organizations(guard);
  services::ZevModelsService models(guard, vehicle_store, *fresh_reads);
  services::IdentityService identity(guard);
  services::CreditLedgerService ledger(guard, ledger_store, *fresh_reads);
  services::CreditAdminService admin(guard, ledger_store, idempotency_store);
  services::CreditTransferService transfer_service(guard, transfer_store, ledger_store,
                                                   idempotency_store);
  services::NotificationService notification_service(guard, notification_store);
  services::IcbcService icbc_service(guard, icbc_store, idempotency_store);
  services::CreditApplicationService application_service(guard, application_store,
                                                         idempotency_store);
  services::ComplianceService compliance_service(guard, compliance_store, ledger_store,
                                                 idempotency_store);

  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service carries no protobuf descriptor of its own; touching ours links it
  // into the binary so that reflection clients (buf curl, grpcurl) can describe and call it.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(config.listen_address, ":", config.port);
  int bound_port = 0;
  if (absl::Status status = ConfigureTransport(config, builder, &bound_port); !status.ok()) {
    spdlog::critical("{}", std::string(status.message()));
    return 2;
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(&transactions);
  builder.RegisterService(&organizations);
  builder.RegisterService(&models);
  builder.RegisterService(&identity);
  builder.RegisterService(&ledger);
  builder.RegisterService(&admin);
  builder.RegisterService(&transfer_service);
  builder.RegisterService(&notification_service);
  builder.RegisterService(&icbc_service);
  builder.RegisterService(&application_service);
  builder.RegisterService(&compliance_service);

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    spdlog::critical("cannot listen on {}", address);
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  // Live at once; the services are NOT_SERVING until the first readiness check passes.
  health->SetServingStatus(true);
  for (const auto& name : kServiceNames) health->SetServingStatus(name, false);
  db::Probe probe(config.database_url, std::chrono::milliseconds(config.db_probe_timeout_ms),
                  config.db_peer_timeout_ms);
  Readiness readiness(
      health, kServiceNames, [&probe, keys] { return keys->KeysLoaded() && probe.Check().ok(); },
      std::chrono::seconds(1));
  spdlog::info("zeva-transaction-service {} listening on {}:{} ({})", ZEVA_VERSION,
               config.listen_address, bound_port,
               config.tls_cert_file.empty() ? "plaintext" : "TLS");

  std::thread signal_waiter([&] {
    sigset_t set = ShutdownSignals();
    int signal_number = 0;
    sigwait(&set, &signal_number);
    spdlog::info("received {}, draining calls for up to {} s", strsignal(signal_number),
                 config.shutdown_grace_seconds);
    // A call stuck on a database that stopped answering (a frozen server acknowledges TCP
    // but never replies, and only it could cancel the statement) would hold Shutdown, and the
    // process, forever: past the grace and a margin, the process exits regardless.
    std::thread([grace = config.shutdown_grace_seconds] {
      std::this_thread::sleep_for(std::chrono::seconds(grace) + kForcedExitMargin);
      spdlog::error("calls still stuck {} s after the grace period; exiting without them",
                    kForcedExitMargin.count());
      spdlog::default_logger()->flush();
      std::_Exit(1);
    }).detach();
    // Readiness probes and Envoy see NOT_SERVING at once; no further status change sticks.
    const auto deadline =
        std::chrono::system_clock::now() + std::chrono::seconds(config.shutdown_grace_seconds);
    // Shutdown() also freezes health: the readiness thread (perhaps busy probing a hung
    // database) can no longer turn it back to SERVING, so it is stopped after the server.
    health->Shutdown();
    // New contract calls get UNAVAILABLE (retry elsewhere) while those in flight finish; only
    // then does gRPC stop: it sends GOAWAY and waits for clients to read what was sent.
    const int unfinished = guard.gate().CloseAndWait(deadline);
    if (unfinished > 0) {
      spdlog::warn("{} calls still running after {} s; cancelling them", unfinished,
                   config.shutdown_grace_seconds);
    }
    server->Shutdown(deadline);
  });
  server->Wait();
  signal_waiter.join();
  blocking.Stop();  // while everything its work uses is still there
  readiness.Stop();
  spdlog::info("zeva-transaction-service stopped");
  return 0;
}

}  // namespace zeva::server
