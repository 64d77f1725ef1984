#include "server/service_host.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
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
#include "runtime/shutdown.h"
#include "server/auth_options.h"
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

// Full names ("/package.Service/Method") of every contract method, read from the protos.
std::set<std::string> ContractMethods() {
  std::set<std::string> methods;
  for (const std::string& name : kServiceNames) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
      methods.insert(absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  return methods;
}

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

db::PoolOptions PoolOptionsFor(const config::ServerConfig& config) {
  return db::PoolOptions{
      config.database_url,
      config.db_pool_size,
      std::chrono::milliseconds(config.db_acquire_timeout_ms),
      config.db_connect_timeout_seconds,
      "zeva-transaction-service",
      std::max(1, config.db_pool_size * config.db_pool_caller_share_percent / 100),
      config.db_peer_timeout_ms};
}

// With READ_CACHE, balances and model lists from memory when provably current.
std::unique_ptr<db::FreshReads> FreshReadsFor(const config::ServerConfig& config,
                                              db::LedgerStore& ledger, db::VehicleStore& vehicles) {
  if (!config.read_cache) return std::make_unique<db::FreshReads>(ledger, vehicles);
  return std::make_unique<db::FreshReads>(ledger, vehicles, config.database_url,
                                          config.db_connect_timeout_seconds,
                                          config.db_peer_timeout_ms);
}

// The database side: the pool, the stores on it and the read caches (declared, so built and
// torn down, in this order).
struct Stores {
  explicit Stores(const config::ServerConfig& config)
      : pool(PoolOptionsFor(config)),
        users(pool),
        transactions(pool),
        vehicles(pool),
        ledger(pool),
        idempotency(pool),
        fresh_reads(FreshReadsFor(config, ledger, vehicles)),
        transfers(pool),
        icbc(pool),
        applications(pool),
        compliance(pool),
        notifications(pool) {
    // A pool connection on another server than the LISTEN connection's (a failover the feed
    // has not seen) stops cached reads and moves the feed.
    pool.WatchServers(
        [r = fresh_reads.get()](const std::string& server) { r->ServerSeen(server); });
  }

  db::ConnectionPool pool;
  db::UserStore users;
  db::TransactionStore transactions;
  db::VehicleStore vehicles;
  db::LedgerStore ledger;
  db::IdempotencyStore idempotency;
  std::unique_ptr<db::FreshReads> fresh_reads;
  db::TransferStore transfers;
  db::IcbcStore icbc;
  db::ApplicationStore applications;
  db::ComplianceStore compliance;
  db::NotificationStore notifications;
};

// The Prometheus endpoint, fed by the pool, the token keys and the read caches; null when
// METRICS_PORT is 0.
absl::StatusOr<std::unique_ptr<metrics::Metrics>> ServeMetrics(const config::ServerConfig& config,
                                                               Stores& stores,
                                                               auth::Authenticator& keys,
                                                               services::BlockingPool& calls) {
  if (config.metrics_port == 0) return std::unique_ptr<metrics::Metrics>();
  db::ConnectionPool* const pool = &stores.pool;  // pointers copied into the sources below
  db::FreshReads* const r = stores.fresh_reads.get();
  auth::Authenticator* const k = &keys;
  services::BlockingPool* const c = &calls;
  auto served = metrics::Metrics::Serve(
      absl::StrCat(config.listen_address, ":", config.metrics_port),
      metrics::Sources{
          [pool] { return pool->Stats().size; }, [pool] { return pool->Stats().in_use; },
          [pool] { return pool->Stats().waiting; }, [pool] { return pool->Stats().broken; },
          [pool] { return pool->Stats().owner_refusals; },
          [k] { return static_cast<int64_t>(k->Stats().downloads_ok); },
          [k] { return static_cast<int64_t>(k->Stats().download_failures); },
          [r] { return r->balance_stats().hits; }, [r] { return r->balance_stats().misses; },
          [r] { return r->balance_stats().bypassed; }, [r] { return r->model_stats().hits; },
          [r] { return r->model_stats().misses; }, [r] { return r->model_stats().bypassed; },
          [r] { return r->listening() ? 1 : 0; }, [r] { return r->round_trips(); },
          [pool] { return pool->Stats().retries; }, [r] { return r->server_changes(); },
          [c] { return c->Threads(); }, [c] { return c->Busy(); }},
      ZEVA_VERSION);
  if (!served.ok()) return served.status();
  spdlog::info("metrics on http://{}:{}/metrics", config.listen_address, (*served)->port());
  return served;
}

// Every finished call counted in `metrics` (none without it).
services::CallObserver ObserverFor(metrics::Metrics* metrics) {
  if (metrics == nullptr) return nullptr;
  return [metrics](const char* method, absl::StatusCode code, double seconds) {
    metrics->ObserveCall(method, code, seconds);
  };
}

// The contract's handlers, every one running its calls through `guard`.
struct Handlers {
  Handlers(services::CallGuard& guard, Stores& s)
      : transactions(guard, s.transactions),
        organizations(guard),
        models(guard, s.vehicles, *s.fresh_reads),
        identity(guard),
        ledger(guard, s.ledger, *s.fresh_reads),
        admin(guard, s.ledger, s.idempotency),
        transfers(guard, s.transfers, s.ledger, s.idempotency),
        notifications(guard, s.notifications),
        icbc(guard, s.icbc, s.idempotency),
        applications(guard, s.applications, s.idempotency),
        compliance(guard, s.compliance, s.ledger, s.idempotency) {}

  void RegisterWith(grpc::ServerBuilder& builder) {
    builder.RegisterService(&transactions);
    builder.RegisterService(&organizations);
    builder.RegisterService(&models);
    builder.RegisterService(&identity);
    builder.RegisterService(&ledger);
    builder.RegisterService(&admin);
    builder.RegisterService(&transfers);
    builder.RegisterService(&notifications);
    builder.RegisterService(&icbc);
    builder.RegisterService(&applications);
    builder.RegisterService(&compliance);
  }

  services::TransactionListService transactions;
  services::OrganizationDetailsService organizations;
  services::ZevModelsService models;
  services::IdentityService identity;
  services::CreditLedgerService ledger;
  services::CreditAdminService admin;
  services::CreditTransferService transfers;
  services::NotificationService notifications;
  services::IcbcService icbc;
  services::CreditApplicationService applications;
  services::ComplianceService compliance;
};

// Everything the server is built with: the port and transport, the interceptor that answers
// unparseable requests, the handlers, health and reflection. Fails when TLS files cannot be
// read.
absl::Status PrepareBuilder(const config::ServerConfig& config,
                            const services::CallObserver& observer, Handlers& handlers,
                            grpc::ServerBuilder& builder, int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's health service carries no protobuf descriptor of its own; touching ours links it
  // into the binary so that reflection clients (buf curl, grpcurl) can describe and call it.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  if (absl::Status status = ConfigureTransport(config, builder, bound_port); !status.ok()) {
    return status;
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(
      std::make_unique<services::UnparsedRequestInterceptorFactory>(observer, ContractMethods()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  handlers.RegisterWith(builder);
  return absl::OkStatus();
}

// Live at once; the services are NOT_SERVING until the first readiness check passes.
void MarkLiveNotReady(grpc::HealthCheckServiceInterface* health) {
  health->SetServingStatus(true);
  for (const auto& name : kServiceNames) health->SetServingStatus(name, false);
}

// Waits for SIGTERM or SIGINT, then drains: NOT_SERVING, new calls refused, the calls in
// flight given the grace period, then gRPC stopped.
void DrainOnSignal(const config::ServerConfig& config, grpc::HealthCheckServiceInterface* health,
                   services::CallGate& gate, grpc::Server& server) {
  const std::string signal_name = runtime::WaitForShutdownSignal();
  spdlog::info("received {}, draining calls for up to {} s", signal_name,
               config.shutdown_grace_seconds);
  // A call stuck on a database that stopped answering (a frozen server acknowledges TCP
  // but never replies, and only it could cancel the statement) would hold Shutdown, and the
  // process, forever: past the grace and a margin, the process exits regardless.
  runtime::ExitAfter(std::chrono::seconds(config.shutdown_grace_seconds) + kForcedExitMargin,
                     absl::StrCat("calls still stuck ", kForcedExitMargin.count(),
                                  " s after the grace period; exiting without them"));
  // Readiness probes and Envoy see NOT_SERVING at once; no further status change sticks.
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(config.shutdown_grace_seconds);
  // Shutdown() also freezes health: the readiness thread (perhaps busy probing a hung
  // database) can no longer turn it back to SERVING, so it is stopped after the server.
  health->Shutdown();
  // New contract calls get UNAVAILABLE (retry elsewhere) while those in flight finish; only
  // then does gRPC stop: it sends GOAWAY and waits for clients to read what was sent.
  const int unfinished = gate.CloseAndWait(deadline);
  if (unfinished > 0) {
    spdlog::warn("{} calls still running after {} s; cancelling them", unfinished,
                 config.shutdown_grace_seconds);
  }
  server.Shutdown(deadline);
}

}  // namespace

int RunServer(const config::ServerConfig& config) {
  Stores stores(config);
  auto authenticator =
      auth::Authenticator::Create(AuthOptionsFrom(config.keycloak), LookupIn(stores.users));
  if (!authenticator.ok()) {
    spdlog::critical("authentication set-up failed: {}",
                     std::string(authenticator.status().message()));
    return 2;
  }
  auth::Authenticator* keys = authenticator->get();
  // Every call's waiting (database statements, user lookups, slow stream readers) happens
  // here, one thread per call in flight, up to --max-threads.
  services::BlockingPool blocking(
      services::BlockingPoolLimits{config.min_pollers, config.max_pollers, config.max_threads});
  auto metrics = ServeMetrics(config, stores, *keys, blocking);
  if (!metrics.ok()) {
    spdlog::critical("{}", std::string(metrics.status().message()));
    return 1;
  }
  const services::CallObserver observer = ObserverFor(metrics->get());
  services::CallGuard guard(*keys, observer, std::chrono::milliseconds(config.default_deadline_ms),
                            blocking);
  Handlers handlers(guard, stores);

  grpc::ServerBuilder builder;
  int bound_port = 0;
  if (absl::Status status = PrepareBuilder(config, observer, handlers, builder, &bound_port);
      !status.ok()) {
    spdlog::critical("{}", std::string(status.message()));
    return 2;
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    spdlog::critical("cannot listen on {}:{}", config.listen_address, config.port);
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  MarkLiveNotReady(health);
  db::Probe probe(config.database_url, std::chrono::milliseconds(config.db_probe_timeout_ms),
                  config.db_peer_timeout_ms);
  Readiness readiness(
      health, kServiceNames, [&probe, keys] { return keys->KeysLoaded() && probe.Check().ok(); },
      std::chrono::seconds(1));
  spdlog::info("zeva-transaction-service {} listening on {}:{} ({})", ZEVA_VERSION,
               config.listen_address, bound_port,
               config.tls_cert_file.empty() ? "plaintext" : "TLS");

  std::thread signal_waiter([&] { DrainOnSignal(config, health, guard.gate(), *server); });
  server->Wait();
  signal_waiter.join();
  blocking.Stop();  // while everything its work uses is still there
  readiness.Stop();
  spdlog::info("zeva-transaction-service stopped");
  return 0;
}

}  // namespace zeva::server
