#include "server/service_host.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/organization_details_service.h"
#include "services/transaction_list_service.h"
#include "services/zev_models_service.h"
#include "spdlog/spdlog.h"

namespace zeva::server {
namespace {

// Names under which health is reported: "" for the whole server, and each contract service.
const char* const kServiceNames[] = {
    "zeva.transactions.TransactionList",
    "zeva.organizations.OrganizationDetails",
    "zeva.transactions.ZEVModels",
};

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
  services::TransactionListService transactions;
  services::OrganizationDetailsService organizations;
  services::ZevModelsService models;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(config.listen_address, ":", config.port);
  int bound_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &bound_port);
  grpc::ResourceQuota quota("zeva-transaction-service");
  quota.SetMaxThreads(config.max_threads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&transactions);
  builder.RegisterService(&organizations);
  builder.RegisterService(&models);

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    spdlog::critical("cannot listen on {}", address);
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const char* name : kServiceNames) health->SetServingStatus(name, true);
  spdlog::info("zeva-transaction-service listening on {}:{}", config.listen_address, bound_port);

  std::thread signal_waiter([&] {
    sigset_t set = ShutdownSignals();
    int signal_number = 0;
    sigwait(&set, &signal_number);
    spdlog::info("received {}, draining calls for up to {} s", strsignal(signal_number),
                 config.shutdown_grace_seconds);
    // Readiness probes and Envoy see NOT_SERVING at once; no further status change sticks.
    health->Shutdown();
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(config.shutdown_grace_seconds));
  });
  server->Wait();
  signal_waiter.join();
  spdlog::info("zeva-transaction-service stopped");
  return 0;
}

}  // namespace zeva::server
