// The foundation, end to end: real PostgreSQL, the real server binary, a real gRPC client.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <catch2/catch.hpp>

#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/server_process.h"
#include "tests/support/service_fixture.h"

using namespace zeva::testing;

namespace {

std::map<std::string, std::string> BaseEnv(const std::string& database_url) {
  return ServerEnv(database_url);
}

// Sends one serialized ServerReflectionRequest and returns the raw response bytes, in which
// names appear as string fields.
std::string ReflectionCall(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto wait = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    REQUIRE(cq.Next(&tag, &ok));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(wait());
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  REQUIRE(wait());
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  REQUIRE(wait());
  call->WritesDone(reinterpret_cast<void*>(4));
  wait();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  wait();
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

std::string ReflectionListServices(const std::shared_ptr<grpc::Channel>& channel) {
  // ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
  return ReflectionCall(channel, std::string("\x3a\x00", 2));
}

}  // namespace

TEST_CASE("the server reports SERVING for itself and each contract service", "[foundation]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  ServerProcess server(BaseEnv(url));
  server.WaitUntilServing();
  for (const char* name :
       {"", "zeva.transactions.TransactionList", "zeva.organizations.OrganizationDetails",
        "zeva.transactions.ZEVModels", "zeva.credits.v1.IdentityService",
        "zeva.credits.v1.CreditLedgerService", "zeva.credits.v1.CreditAdminService",
        "zeva.credits.v1.CreditTransferService", "zeva.credits.v1.NotificationService"}) {
    INFO("service '" << name << "'");
    CHECK(server.Health(name) == "SERVING");
  }
  CHECK(server.Health("no.such.Service") != "SERVING");
}

TEST_CASE("server reflection lists the contract services", "[foundation]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  ServerProcess server(BaseEnv(url));
  server.WaitUntilServing();
  const std::string listing = ReflectionListServices(server.Channel());
  CHECK(listing.find("zeva.transactions.TransactionList") != std::string::npos);
  CHECK(listing.find("zeva.organizations.OrganizationDetails") != std::string::npos);
  CHECK(listing.find("zeva.transactions.ZEVModels") != std::string::npos);
  CHECK(listing.find("zeva.credits.v1.IdentityService") != std::string::npos);
  CHECK(listing.find("zeva.credits.v1.CreditLedgerService") != std::string::npos);
  CHECK(listing.find("zeva.credits.v1.CreditAdminService") != std::string::npos);
  CHECK(listing.find("zeva.credits.v1.CreditTransferService") != std::string::npos);
  CHECK(listing.find("grpc.health.v1.Health") != std::string::npos);
}

TEST_CASE("reflection describes the health service too, so reflection clients can call it",
          "[foundation]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  ServerProcess server(BaseEnv(url));
  server.WaitUntilServing();
  // ServerReflectionRequest{file_containing_symbol (4): "grpc.health.v1.Health"}
  const std::string symbol = "grpc.health.v1.Health";
  const std::string request = std::string("\x22") + static_cast<char>(symbol.size()) + symbol;
  const std::string response = ReflectionCall(server.Channel(), request);
  // A FileDescriptorResponse names the file and its messages; an error response would not.
  CHECK(response.find("grpc/health/v1/health.proto") != std::string::npos);
  CHECK(response.find("HealthCheckRequest") != std::string::npos);
}

TEST_CASE("SIGTERM stops the server with exit status 0", "[foundation]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  ServerProcess server(BaseEnv(url));
  server.WaitUntilServing();
  CHECK(server.StopWith(SIGTERM) == 0);
  CHECK(server.Log().find("stopped") != std::string::npos);
}

TEST_CASE("--help lists every setting; bad configuration exits 2 with a reason", "[foundation]") {
  CommandResult help = RunCommand({ServerBinary(), "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("[env DATABASE_URL]") != std::string::npos);
  CHECK(help.output.find("(default: 10102)") != std::string::npos);

  CommandResult missing = RunCommand({ServerBinary()}, {{"DATABASE_URL", ""}});
  CHECK(missing.exit_code == 2);
  CHECK(missing.output.find("DATABASE_URL") != std::string::npos);

  CommandResult bad_port = RunCommand({ServerBinary(), "--port=http"}, BaseEnv("postgresql://x/y"));
  CHECK(bad_port.exit_code == 2);
  CHECK(bad_port.output.find("--port") != std::string::npos);
}

TEST_CASE("a password in DATABASE_URL never reaches the logs", "[foundation]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  // Trust authentication ignores the password, so the server still works.
  std::string with_password = url;
  with_password.replace(with_password.find("zeva@"), 5, "zeva:topsecret@");
  ServerProcess server(BaseEnv(with_password), {"--log-level=trace"});
  server.WaitUntilServing();
  CHECK(server.StopWith(SIGTERM) == 0);
  CHECK(server.Log().find("topsecret") == std::string::npos);
}

TEST_CASE("zeva-migrate connects and reports the alembic revision", "[foundation]") {
  const std::string url = PostgresServer::Shared().CreateDatabase();
  CommandResult result = RunCommand({MigrateBinary(), "current"}, {{"DATABASE_URL", url}});
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("alembic revision: (none)") != std::string::npos);

  CommandResult unreachable = RunCommand(
      {MigrateBinary(), "current"}, {{"DATABASE_URL", "postgresql://zeva:pw@127.0.0.1:1/zeva"}});
  CHECK(unreachable.exit_code != 0);
  CHECK(unreachable.output.find("pw@") == std::string::npos);
}
