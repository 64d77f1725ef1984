// Authentication end to end: the real server binary, a real gRPC client and a real
// PostgreSQL migrated with the fixtures (users test_vs_1, test_vs_2, test_gov_1). Keys come
// from the fixed test key (KEYCLOAK_RS256_PUBLIC_KEY) or from a JWKS served by a local HTTP
// server (KEYCLOAK_CERTS_URL). Every server runs at LOG_LEVEL=debug, where refusals are
// logged with their reason, and no test token may ever appear in its log.

#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

#include "auth/base64url.h"
#include "organizations.grpc.pb.h"
#include "tests/support/jwks_http_server.h"
#include "tests/support/service_fixture.h"
#include "tests/support/wait_until.h"

using namespace zeva::testing;
using zeva::organizations::OrganizationDetails;

namespace {

constexpr char kFailed[] = "Authentication failed";
constexpr char kContractService[] = "zeva.organizations.OrganizationDetails";

struct Answer {
  grpc::Status status;
  zeva::organizations::MyOrganizationResponse response;
};

// A channel with its own connection. Channels from grpc::CreateChannel share connections
// (the global subchannel pool), and an oversized header makes the server close its
// connection: each test case must not inherit another's closed connection.
std::shared_ptr<grpc::Channel> OwnChannel(const ServerProcess& server) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args);
}

// GetMyOrganization, the simplest authenticated call, with `header` as the `authorization`
// metadata (none when nullopt).
Answer MyOrganization(const std::shared_ptr<grpc::Channel>& channel,
                      const std::optional<std::string>& header) {
  auto stub = OrganizationDetails::NewStub(channel);
  grpc::ClientContext context;
  if (header) context.AddMetadata("authorization", *header);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  Answer answer;
  answer.status = stub->GetMyOrganization(&context, {}, &answer.response);
  return answer;
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  return WaitUntil(condition, timeout);
}

std::string Token(const nlohmann::json& claims, int key = 0, const std::string& kid = "") {
  return SignToken(claims, TestKey(key).private_pem, kid);
}

// Every token (or header) a test sends, so that the logs can be checked for all of them.
std::vector<std::string>& SentTokens() {
  static std::vector<std::string> tokens;
  return tokens;
}

std::string Sent(std::string token) {
  SentTokens().push_back(token);
  return token;
}

void CheckLogHasNoToken(const ServerProcess& server) {
  const std::string log = server.Log();
  // Debug logging is on (refusals carry their reason), so the check below means something.
  CHECK(log.find("auth: refused") != std::string::npos);
  for (const auto& token : SentTokens()) {
    if (token.size() < 16) continue;  // "" and short garbage occur in any text
    INFO("token prefix: " << token.substr(0, 24));
    CHECK(log.find(token) == std::string::npos);
  }
}

std::map<std::string, std::string> DebugEnv(std::map<std::string, std::string> env) {
  env["LOG_LEVEL"] = "debug";
  return env;
}

// The environment of a server whose keys come only from the JWKS at `certs_url`.
std::map<std::string, std::string> JwksEnv(const std::string& database_url,
                                           const std::string& certs_url) {
  auto env = DebugEnv(ServerEnv(database_url));
  env["KEYCLOAK_RS256_PUBLIC_KEY"] = "";
  env["KEYCLOAK_CERTS_URL"] = certs_url;
  return env;
}

// One server with the fixed test key, shared by the acceptance and refusal cases below so
// that the last case can show it survived all of them. Started on first use; stopped when
// the test run ends (before static destruction, where gRPC objects must not be torn down).
std::unique_ptr<ServerProcess>& SharedSlot() {
  static std::unique_ptr<ServerProcess> server;
  return server;
}

ServerProcess& SharedServer() {
  auto& server = SharedSlot();
  if (!server) {
    server = std::make_unique<ServerProcess>(DebugEnv(ServerEnv(MigratedDatabase())));
    server->WaitUntilServing();
  }
  return *server;
}

struct StopSharedServer : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override {
    SharedSlot().reset();
    TestEventListenerBase::testRunEnded(stats);
  }
};

void CheckAccepted(const std::string& header, const std::string& organization_name) {
  ServerProcess& server = SharedServer();
  Answer answer = MyOrganization(OwnChannel(server), Sent(header));
  INFO(answer.status.error_message());
  REQUIRE(answer.status.ok());
  CHECK(answer.response.name() == organization_name);
}

void CheckRefused(const std::optional<std::string>& header, const std::string& message = kFailed) {
  ServerProcess& server = SharedServer();
  Answer answer = MyOrganization(OwnChannel(server), header ? Sent(*header) : header);
  CHECK(answer.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(answer.status.error_message() == message);
  CHECK(answer.response.name().empty());
  CHECK(server.Running());
}

}  // namespace

CATCH_REGISTER_LISTENER(StopSharedServer)

TEST_CASE("e2e: a valid token is accepted with and without 'Bearer '", "[auth]") {
  const std::string token = Token(ValidClaims("test_vs_1"));
  CheckAccepted("Bearer " + token, "Test Vehicle Supplier 1");
  CheckAccepted(token, "Test Vehicle Supplier 1");
}

TEST_CASE("e2e: the audience may be a string or an array containing ours", "[auth]") {
  nlohmann::json claims = ValidClaims("test_vs_2");
  REQUIRE(claims["aud"].is_string());
  CheckAccepted(Token(claims), "Test Vehicle Supplier 2");
  claims["aud"] = {"account", kTestAudience};
  CheckAccepted(Token(claims), "Test Vehicle Supplier 2");
}

TEST_CASE("e2e: no authorization header", "[auth]") {
  CheckRefused(std::nullopt, "No authentication header");
}

TEST_CASE("e2e: an empty authorization header", "[auth]") {
  CheckRefused("");
  CheckRefused("Bearer ");
}

TEST_CASE("e2e: garbage", "[auth]") {
  CheckRefused("garbage");
  CheckRefused("Bearer not.a.jwt-at-all-but-long-enough");
}

TEST_CASE("e2e: a token signed by another key", "[auth]") {
  CheckRefused("Bearer " + Token(ValidClaims("test_vs_1"), 1));
}

TEST_CASE("e2e: an expired token", "[auth]") {
  nlohmann::json claims = ValidClaims("test_vs_1");
  claims["iat"] = NowSeconds() - 7200;
  claims["exp"] = NowSeconds() - 3600;
  CheckRefused("Bearer " + Token(claims));
}

TEST_CASE("e2e: a token not yet valid", "[auth]") {
  nlohmann::json claims = ValidClaims("test_vs_1");
  claims["nbf"] = NowSeconds() + 3600;
  claims["exp"] = NowSeconds() + 7200;
  CheckRefused("Bearer " + Token(claims));
}

TEST_CASE("e2e: a wrong issuer", "[auth]") {
  CheckRefused("Bearer " + Token(ValidClaims("test_vs_1", "https://sso.evil/auth/realms/zeva")));
}

TEST_CASE("e2e: a wrong audience", "[auth]") {
  CheckRefused("Bearer " + Token(ValidClaims("test_vs_1", kTestIssuer, "other-app")));
  nlohmann::json claims = ValidClaims("test_vs_1");
  claims["aud"] = {"account", "other-app"};
  CheckRefused("Bearer " + Token(claims));
}

TEST_CASE("e2e: alg none", "[auth]") {
  const auto claims = ValidClaims("test_vs_1");
  CheckRefused("Bearer " + UnsignedToken({{"alg", "none"}, {"typ", "JWT"}}, claims));
  CheckRefused("Bearer " + UnsignedToken({{"alg", "None"}, {"typ", "JWT"}}, claims));
}

TEST_CASE("e2e: HS256 signed with the RSA public key's PEM bytes", "[auth]") {
  // The classic algorithm confusion: a verifier that trusted the header's alg would check
  // this HMAC with the public key as secret, and accept it.
  const std::string token = SignToken(ValidClaims("test_vs_1"), TestKey(0).public_pem, "", "HS256");
  CheckRefused("Bearer " + token);
}

TEST_CASE("e2e: a tampered payload", "[auth]") {
  const std::string token = Token(ValidClaims("test_vs_1"));
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  REQUIRE(second != std::string::npos);
  // Another user's claims under test_vs_1's valid signature.
  const std::string tampered = token.substr(0, first + 1) +
                               zeva::auth::Base64UrlEncode(ValidClaims("test_gov_1").dump()) +
                               token.substr(second);
  CheckRefused("Bearer " + tampered);
}

TEST_CASE("e2e: a user not in the database", "[auth]") {
  CheckRefused("Bearer " + Token(ValidClaims("no_such_user")));
}

TEST_CASE("e2e: an oversized header Envoy would pass is refused, the connection kept", "[auth]") {
  // 48 KiB: above the authenticator's limit (kMaxTokenBytes, 16 KiB), below the server's
  // request metadata limit (64 KiB) and Envoy's default header cap (60 KiB).
  ServerProcess& server = SharedServer();
  auto channel = OwnChannel(server);
  Answer answer = MyOrganization(channel, Sent("Bearer " + std::string(size_t{48} * 1024, 'B')));
  CHECK(answer.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(answer.status.error_message() == kFailed);
  // The same connection still serves calls (other callers Envoy multiplexes on it).
  Answer next = MyOrganization(channel, Sent("Bearer " + Token(ValidClaims("test_vs_1"))));
  INFO(next.status.error_message());
  CHECK(next.status.ok());
  CHECK(server.Log().find("authorization value too large") != std::string::npos);
}

TEST_CASE("e2e: a 1 MB authorization header", "[auth]") {
  // Beyond the server's request metadata limit (64 KiB) gRPC itself refuses the call before
  // any handler runs: RESOURCE_EXHAUSTED, and it closes that connection. Only a direct
  // client can send this: Envoy refuses headers over 60 KiB itself.
  ServerProcess& server = SharedServer();
  const std::string header = Sent("Bearer " + std::string(size_t{1024} * 1024, 'A'));
  Answer answer = MyOrganization(OwnChannel(server), header);
  CHECK(answer.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(answer.status.error_message() == "received initial metadata size exceeds limit");
  CHECK(server.Running());
  Answer next = MyOrganization(OwnChannel(server), Sent(Token(ValidClaims("test_vs_1"))));
  INFO(next.status.error_message());
  CHECK(next.status.ok());
}

TEST_CASE("e2e: after every refusal the server is up, answers, and logged no token", "[auth]") {
  ServerProcess& server = SharedServer();
  REQUIRE(server.Running());
  CHECK(server.Health(kContractService) == "SERVING");
  CheckRefused("Bearer " + Token(ValidClaims("test_gov_1"), 2));  // a refusal in any test order
  Answer answer = MyOrganization(OwnChannel(server), Sent(Token(ValidClaims("test_gov_1"))));
  INFO(answer.status.error_message());
  CHECK(answer.status.ok());
  CheckLogHasNoToken(server);
}

TEST_CASE("e2e: a JWKS with two keys accepts tokens signed by either, refuses unknown kids",
          "[auth]") {
  JwksHttpServer jwks(JwksBody({{"k0", &TestKey(0)}, {"k1", &TestKey(1)}}));
  ServerProcess server(JwksEnv(MigratedDatabase(), jwks.url()));
  server.WaitUntilServing();
  for (const auto& [key, kid] : std::vector<std::pair<int, std::string>>{{0, "k0"}, {1, "k1"}}) {
    Answer answer = MyOrganization(OwnChannel(server),
                                   Sent("Bearer " + Token(ValidClaims("test_vs_1"), key, kid)));
    INFO(kid << ": " << answer.status.error_message());
    CHECK(answer.status.ok());
    CHECK(answer.response.name() == "Test Vehicle Supplier 1");
  }
  // A kid the JWKS does not hold, and a known kid over a signature by a key it does not hold.
  for (const auto& [key, kid] : std::vector<std::pair<int, std::string>>{{0, "k9"}, {2, "k0"}}) {
    Answer answer = MyOrganization(OwnChannel(server),
                                   Sent("Bearer " + Token(ValidClaims("test_vs_1"), key, kid)));
    INFO(kid);
    CHECK(answer.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(answer.status.error_message() == kFailed);
  }
  CHECK(server.Running());
  CheckLogHasNoToken(server);
}

TEST_CASE("e2e: a rotated JWKS key is accepted after one refresh, without a restart", "[auth]") {
  JwksHttpServer jwks(JwksBody({{"old", &TestKey(0)}}));
  // The shortest refresh allowed; unknown kids never cause a download here, so that only
  // the timer can bring the new key.
  ServerProcess server(JwksEnv(MigratedDatabase(), jwks.url()),
                       {"--jwks-refresh-seconds=5", "--jwks-min-refetch-seconds=3600"});
  server.WaitUntilServing();
  const pid_t pid = server.pid();
  const std::string old_token = Sent(Token(ValidClaims("test_vs_1"), 0, "old"));
  const std::string new_token = Sent(Token(ValidClaims("test_vs_1"), 1, "new"));
  REQUIRE(MyOrganization(OwnChannel(server), old_token).status.ok());
  CHECK(MyOrganization(OwnChannel(server), new_token).status.error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);

  jwks.SetBody(JwksBody({{"new", &TestKey(1)}}));
  const int requests_before = jwks.requests();
  const auto rotated = std::chrono::steady_clock::now();
  CHECK(Eventually([&] { return MyOrganization(OwnChannel(server), new_token).status.ok(); },
                   std::chrono::seconds(15)));
  const auto waited = std::chrono::steady_clock::now() - rotated;
  CHECK(waited < std::chrono::seconds(7));  // one refresh period (5 s) and some slack
  CHECK(jwks.requests() == requests_before + 1);
  // The old key left the JWKS: its token (verified and cached before) is refused now.
  Answer old_answer = MyOrganization(OwnChannel(server), old_token);
  CHECK(old_answer.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(old_answer.status.error_message() == kFailed);
  CHECK(server.Running());
  CHECK(server.pid() == pid);
  CheckLogHasNoToken(server);
}

TEST_CASE("e2e: Keycloak down at start: NOT_SERVING until the JWKS is reachable", "[auth]") {
  JwksHttpServer jwks(JwksBody({{"k0", &TestKey(0)}}));
  jwks.Stop();  // the port is known and closed: connections are refused
  ServerProcess server(JwksEnv(MigratedDatabase(), jwks.url()),
                       {"--jwks-refresh-seconds=5", "--jwks-min-refetch-seconds=1"});
  REQUIRE(Eventually([&] { return server.Health("") == "SERVING"; }, std::chrono::seconds(20)));
  // The first download has failed and the readiness check has run on it.
  CHECK(Eventually([&] { return server.Log().find("not ready (") != std::string::npos; },
                   std::chrono::seconds(20)));
  REQUIRE(server.Running());
  CHECK(server.Health("") == "SERVING");
  for (const char* service :
       {"zeva.transactions.TransactionList", "zeva.organizations.OrganizationDetails",
        "zeva.transactions.ZEVModels"}) {
    INFO(service);
    CHECK(server.Health(service) == "NOT_SERVING");
  }
  const std::string token = Sent(Token(ValidClaims("test_vs_1"), 0, "k0"));
  Answer before = MyOrganization(OwnChannel(server), token);
  CHECK(before.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(before.status.error_message() == kFailed);
  CHECK(jwks.requests() == 0);

  jwks.Start();
  server.WaitUntilServing(std::chrono::seconds(20), kContractService);
  Answer after = MyOrganization(OwnChannel(server), token);
  INFO(after.status.error_message());
  CHECK(after.status.ok());
  CHECK(after.response.name() == "Test Vehicle Supplier 1");
  CHECK(server.Log().find("JWKS download from") != std::string::npos);
  CheckLogHasNoToken(server);
}
