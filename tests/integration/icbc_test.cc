// ICBC registration data end to end: the real server (IcbcService) and zeva-worker (the
// import lane) on a real PostgreSQL, called through the generated clients. The worker gets an
// unreachable broker: imports do not need RabbitMQ, their events wait in the outbox.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/sha256_digest.h"
#include "tests/support/ledger_client.h"
#include "tests/support/service_fixture.h"
#include "zeva/credits/v1/applications.grpc.pb.h"

using namespace zeva::testing;
using namespace std::chrono_literals;

namespace {

namespace wire = ::zeva::credits::v1;
constexpr char kAnalyst[] = "test_gov_1";
constexpr char kDirector[] = "test_gov_director";
constexpr char kSupplier[] = "test_vs_1";
constexpr size_t kMiB = size_t{1024} * 1024;

std::string Sha(const std::string& bytes) {
  zeva::services::Sha256Digest digest;
  digest.Update(bytes);
  return digest.HexDigest();
}

struct Answer {
  grpc::Status status;
  wire::IcbcImport import;
};

std::map<std::string, std::string> IcbcWorkerEnv(const std::string& database_url) {
  return {{"DATABASE_URL", database_url},
          {"RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/"},
          {"OUTBOX_POLL_INTERVAL_MS", "200"},
          {"RETRY_INITIAL_MS", "100"},
          {"RETRY_MAX_MS", "500"},
          {"BROKER_CONNECT_TIMEOUT_MS", "200"},
          {"ICBC_LEASE_MS", "3000"},
          {"HEALTH_PORT", "0"},
          {"METRICS_PORT", "0"},
          {"SHUTDOWN_GRACE_SECONDS", "5"}};
}

struct Icbc {
  ServiceFixture service{{"--db-pool-caller-share-percent=100"}};
  std::unique_ptr<wire::IcbcService::Stub> stub = wire::IcbcService::NewStub(service.channel());
  int keys = 0;

  std::unique_ptr<grpc::ClientContext> Context(const std::string& user) {
    return service.ContextFor(user);
  }

  std::unique_ptr<ServerProcess> StartWorker(std::map<std::string, std::string> extra = {}) {
    auto env = IcbcWorkerEnv(service.database_url());
    for (auto& [k, v] : extra) env[k] = v;
    return ServerProcess::Worker(env);
  }

  Answer Start(const std::string& user, const std::string& file, std::string key = "",
               uint64_t size = 0, std::string sha = "") {
    wire::StartIcbcImportRequest request;
    request.set_idempotency_key(key.empty() ? "k-" + std::to_string(++keys) : key);
    request.set_file_name("icbc.csv");
    request.mutable_current_to()->set_year(2024);
    request.mutable_current_to()->set_month(1);
    request.mutable_current_to()->set_day(31);
    request.set_size_bytes(size != 0 ? size : file.size());
    request.set_sha256(sha.empty() ? Sha(file) : sha);
    return StartWith(user, request);
  }
  Answer StartWith(const std::string& user, const wire::StartIcbcImportRequest& request) {
    Answer a;
    a.status = stub->StartIcbcImport(Context(user).get(), request, &a.import);
    return a;
  }
  Answer Chunk(const std::string& user, uint64_t id, uint64_t offset, const std::string& data) {
    wire::UploadIcbcChunkRequest request;
    request.set_import_id(id);
    request.set_offset(offset);
    request.set_data(data);
    Answer a;
    a.status = stub->UploadIcbcChunk(Context(user).get(), request, &a.import);
    return a;
  }
  // Commit, Cancel and Get: a request naming only the import.
  template <typename Request>
  using OnImport = grpc::Status (wire::IcbcService::Stub::*)(grpc::ClientContext*, const Request&,
                                                             wire::IcbcImport*);
  template <typename Request>
  Answer Call(OnImport<Request> method, const std::string& user, uint64_t id) {
    Request request;
    request.set_import_id(id);
    Answer a;
    a.status = (stub.get()->*method)(Context(user).get(), request, &a.import);
    return a;
  }
  Answer Commit(const std::string& user, uint64_t id) {
    return Call<wire::CommitIcbcImportRequest>(&wire::IcbcService::Stub::CommitIcbcImport, user,
                                               id);
  }
  Answer Cancel(const std::string& user, uint64_t id) {
    return Call<wire::CancelIcbcImportRequest>(&wire::IcbcService::Stub::CancelIcbcImport, user,
                                               id);
  }
  Answer Get(const std::string& user, uint64_t id) {
    return Call<wire::GetIcbcImportRequest>(&wire::IcbcService::Stub::GetIcbcImport, user, id);
  }

  // Starts and uploads `file` in chunks of `chunk` bytes as `user`; returns the import id.
  uint64_t Upload(const std::string& file, size_t chunk, const std::string& user = kAnalyst) {
    const Answer started = Start(user, file);
    INFO(started.status.error_message());
    REQUIRE(started.status.ok());
    const uint64_t id = started.import.id();
    for (size_t at = 0; at < file.size(); at += chunk) {
      const Answer a = Chunk(user, id, at, file.substr(at, chunk));
      INFO(a.status.error_message());
      REQUIRE(a.status.ok());
    }
    return id;
  }

  // Waits (deadline) until the import is in `status`; returns it.
  wire::IcbcImport WaitFor(uint64_t id, wire::IcbcImportStatus status,
                           std::chrono::milliseconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    Answer a;
    do {
      a = Get(kAnalyst, id);
      REQUIRE(a.status.ok());
      if (a.import.status() == status) return a.import;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    FAIL("import " << id << " is " << wire::IcbcImportStatus_Name(a.import.status()) << ", not "
                   << wire::IcbcImportStatus_Name(status) << ": " << a.import.failure());
    return a.import;
  }

  // Uploads, commits and waits for the worker to finish the import.
  wire::IcbcImport Import(const std::string& file, size_t chunk = kMiB,
                          wire::IcbcImportStatus end = wire::ICBC_IMPORT_STATUS_COMPLETED) {
    const uint64_t id = Upload(file, chunk);
    const Answer committed = Commit(kAnalyst, id);
    INFO(committed.status.error_message());
    REQUIRE(committed.status.ok());
    return WaitFor(id, end);
  }

  std::vector<wire::Registration> Lookup(const std::vector<std::string>& vins,
                                         grpc::Status* status = nullptr,
                                         const std::string& user = kAnalyst) {
    wire::LookupRegistrationsRequest request;
    for (const auto& v : vins) request.add_vins(v);
    wire::LookupRegistrationsResponse response;
    grpc::Status s = stub->LookupRegistrations(Context(user).get(), request, &response);
    if (status != nullptr) *status = s;
    return {response.registrations().begin(), response.registrations().end()};
  }

  int64_t Count(const std::string& sql) { return std::stoll(Sql(service.database_url(), sql)); }
};

std::string Vin(int i) {
  // 17 characters of the alphabet: a prefix and a 7-digit serial.
  char serial[16];
  std::snprintf(serial, sizeof(serial), "%07d", i);
  return std::string("5YJ3E1EA0KF") + std::string(serial).substr(1);
}

constexpr char kRulesFile[] =
    "\xEF\xBB\xBFmodel_year,Make,\"vin\",Model,COLOUR,Fuel_Type,ELECTRIC_VEHICLE_FLAG\r\n"
    "2020,\" Tesla \",5yj3e1ea0kf000001,\"Model 3, \"\"long\"\" range\",red,,\r\n"
    "2021,Nissan,1N4AZ1CP0LC000002,\"Leaf\r\nPlus\",blue,ELECTRIC,N\r\n"
    "abc,Nissan,1N4AZ1CP0LC000003,Leaf,blue,ELECTRIC,Y\r\n"
    "2021,Nissan,BADVIN,Leaf,blue,ELECTRIC,Y\r\n"
    "2021,Nissan,1N4AZ1CP0LC000004,Leaf,blue,ELECTRIC\r\n"
    "2017,Nissan,1N4AZ1CP0LC000005,Leaf,blue,ELECTRIC,Y\r\n"
    "2022,Ford,1FTFW1E50NF000006,F-150,white,GASOLINE,N\r\n"
    "2022,Kia,KNDCE3LG0L5000007,Niro,green,HYDROGEN,N\r\n"
    "2023,Tesla,5YJ3E1EA0KF000001,Model Y,black,ELECTRIC,Y\r\n"
    "2022,Kia,,Niro,green,ELECTRIC,Y\r\n"
    "2022,Kia,KNDCE3LG0L5000008,EV6,grey,,\r\n";

}  // namespace

TEST_CASE("ICBC: an extract is uploaded in chunks, imported by the worker, looked up", "[icbc]") {
  Icbc icbc;
  auto worker = icbc.StartWorker();
  // Chunks of 2 bytes split the byte-order mark; of 7, quoted fields and CRLFs.
  for (size_t chunk : {size_t{2}, size_t{7}}) {
    INFO("chunk " << chunk);
    const std::string file = kRulesFile;
    const wire::IcbcImport done = icbc.Import(file, chunk);
    CHECK(done.rows_read() == 11);
    CHECK(done.rows_kept() == 5);  // 1, 2, 7, 1 again, 8; dropped: 2017, gasoline, no VIN
    CHECK(done.rows_rejected() == 3);
    REQUIRE(done.errors_size() == 3);
    CHECK(done.errors(0).line() == 5);
    CHECK(done.errors(0).message().find("MODEL_YEAR") != std::string::npos);
    CHECK(done.errors(1).line() == 6);
    CHECK(done.errors(1).message().find("VIN") != std::string::npos);
    CHECK(done.errors(2).line() == 7);
    CHECK(done.errors(2).message().find("6 fields") != std::string::npos);
    CHECK(done.received_bytes() == file.size());
    CHECK(done.size_bytes() == file.size());
    CHECK(done.sha256() == Sha(file));
    CHECK(done.has_finished_at());
    CHECK(done.uploaded_by() == kAnalyst);
    CHECK(done.current_to().year() == 2024);
    CHECK(icbc.Count("SELECT count(*) FROM icbc_import_chunks WHERE import_id = " +
                     std::to_string(done.id())) == 0);
    if (chunk == 2) {
      CHECK(done.registrations_added() == 4);  // the VIN seen twice counts once
      CHECK(done.registrations_changed() == 0);
      CHECK(done.registrations_unchanged() == 0);
    } else {
      CHECK(done.registrations_added() == 0);  // the same file again: nothing changes
      CHECK(done.registrations_changed() == 0);
      CHECK(done.registrations_unchanged() == 4);
    }
  }
  grpc::Status status;
  const auto found = icbc.Lookup({" 5yj3e1ea0kf000001 ", "1N4AZ1CP0LC000002", "NOPE",
                                  "KNDCE3LG0L5000007", "1FTFW1E50NF000006", "KNDCE3LG0L5000008"},
                                 &status);
  REQUIRE(status.ok());
  REQUIRE(found.size() == 4);  // in request order, the unknown and the dropped left out
  CHECK(found[0].vin() == "5YJ3E1EA0KF000001");
  CHECK(found[0].make() == "Tesla");
  CHECK(found[0].model() == "Model Y");  // the later row won
  CHECK(found[0].model_year() == 2023);
  CHECK(found[1].model() == "Leaf\r\nPlus");
  CHECK(found[2].vin() == "KNDCE3LG0L5000007");
  CHECK(found[3].vin() == "KNDCE3LG0L5000008");
  const uint64_t first_import = found[0].import_id();
  CHECK(first_import != 0);

  // Each finished import told its uploader, through the outbox.
  CHECK(icbc.Count("SELECT count(*) FROM notifications WHERE username = 'test_gov_1' AND "
                   "event_type = 'icbc.import.completed' AND icbc_import_id IS NOT NULL") == 2);
  CHECK(icbc.Count("SELECT count(*) FROM outbox_events WHERE event_type = "
                   "'icbc.import.completed' AND recipients = '{test_gov_1}' AND actor = "
                   "'zeva-worker'") == 2);
  wire::ListIcbcImportsRequest list;
  auto context = icbc.Context(kDirector);
  auto reader = icbc.stub->ListIcbcImports(context.get(), list);
  std::vector<uint64_t> ids;
  wire::IcbcImport one;
  while (reader->Read(&one)) ids.push_back(one.id());
  CHECK(reader->Finish().ok());
  CHECK(ids.size() == 2);
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  // Keyset: after the first id, at most one.
  list.set_after_id(ids[0]);
  list.set_limit(1);
  auto context2 = icbc.Context(kAnalyst);
  auto reader2 = icbc.stub->ListIcbcImports(context2.get(), list);
  std::vector<uint64_t> after;
  while (reader2->Read(&one)) after.push_back(one.id());
  CHECK(reader2->Finish().ok());
  CHECK(after == std::vector<uint64_t>{ids[1]});
}

TEST_CASE("ICBC: a committed import wakes the worker at once (NOTIFY), not by polling", "[icbc]") {
  Icbc icbc;
  // Polling only every 5 s at most (the lane's cap; the option asks for a minute).
  auto worker = icbc.StartWorker({{"OUTBOX_POLL_INTERVAL_MS", "60000"}});
  const std::string header = "VIN,MAKE,MODEL,MODEL_YEAR\n";
  icbc.Import(header + Vin(1) + ",Tesla,Model 3,2020\n");  // the worker is up and listening
  for (int i = 2; i < 5; ++i) {
    const uint64_t id = icbc.Upload(header + Vin(i) + ",Tesla,Model 3,2020\n", kMiB);
    const auto committed = std::chrono::steady_clock::now();
    REQUIRE(icbc.Commit(kAnalyst, id).status.ok());
    icbc.WaitFor(id, wire::ICBC_IMPORT_STATUS_COMPLETED, 10s);
    CHECK(std::chrono::steady_clock::now() - committed < 1s);
  }
}

TEST_CASE("ICBC: a later file changes, adds, and keeps the VINs it lacks", "[icbc]") {
  Icbc icbc;
  auto worker = icbc.StartWorker();
  const std::string header = "VIN,MAKE,MODEL,MODEL_YEAR\n";
  const wire::IcbcImport first = icbc.Import(header + Vin(1) + ",Tesla,Model 3,2020\n" + Vin(2) +
                                             ",Tesla,Model Y,2021\n" + Vin(3) + ",Kia,Niro,2021\n");
  CHECK(first.registrations_added() == 3);
  const wire::IcbcImport later =
      icbc.Import(header + Vin(2) + ",Tesla,Model Y,2022\n" + Vin(3) + ",Kia,Niro,2021\n" + Vin(4) +
                  ",Ford,Lightning,2023\n");
  CHECK(later.registrations_added() == 1);
  CHECK(later.registrations_changed() == 1);
  CHECK(later.registrations_unchanged() == 1);
  const auto found = icbc.Lookup({Vin(1), Vin(2), Vin(3), Vin(4)});
  REQUIRE(found.size() == 4);
  CHECK(found[0].import_id() == first.id());  // absent from the later file: stays
  CHECK(found[1].model_year() == 2022);
  CHECK(found[1].import_id() == later.id());  // changed by the later one
  CHECK(found[2].import_id() == first.id());  // unchanged: still the first's
  CHECK(found[3].import_id() == later.id());
}

TEST_CASE("ICBC: a file that fails changes no registration", "[icbc]") {
  Icbc icbc;
  auto worker = icbc.StartWorker();
  const std::string header = "VIN,MAKE,MODEL,MODEL_YEAR\n";
  icbc.Import(header + Vin(1) + ",Tesla,Model 3,2020\n");
  struct Case {
    const char* what;
    std::string file;
    const char* failure;
  };
  const std::vector<Case> cases{
      {"missing column", "VIN,MAKE,MODEL\n" + Vin(1) + ",Tesla,X\n", "MODEL_YEAR"},
      {"invalid UTF-8", header + Vin(1) + ",Tesla,Model 3,2021\n" + Vin(2) + ",T\xC3(,M,2021\n",
       "line 3 is not valid UTF-8"},
      {"unclosed quote", header + Vin(1) + ",Tesla,Model 3,2021\n" + Vin(2) + ",\"T\nx,2021\n",
       "starting on line 3 is never closed"}};
  for (const Case& c : cases) {
    INFO(c.what);
    const wire::IcbcImport failed = icbc.Import(c.file, 5, wire::ICBC_IMPORT_STATUS_FAILED);
    CHECK(failed.failure().find(c.failure) != std::string::npos);
    CHECK(failed.registrations_added() == 0);
    CHECK(failed.has_finished_at());
    CHECK(icbc.Count("SELECT count(*) FROM icbc_import_chunks WHERE import_id = " +
                     std::to_string(failed.id())) == 0);
  }
  CHECK(icbc.Count("SELECT count(*) FROM icbc_registrations") == 1);
  CHECK(Sql(icbc.service.database_url(), "SELECT model_year FROM icbc_registrations") == "2020");
  CHECK(icbc.Count("SELECT count(*) FROM notifications WHERE event_type = 'icbc.import.failed' "
                   "AND username = 'test_gov_1'") == 3);
}

TEST_CASE("ICBC: the upload protocol's refusals", "[icbc]") {
  Icbc icbc;
  const std::string file = "VIN,MAKE,MODEL,MODEL_YEAR\n" + Vin(1) + ",Tesla,Model 3,2020\n";

  SECTION("Start validates every field, then the caller's role") {
    wire::StartIcbcImportRequest request;
    request.set_idempotency_key("v");
    request.set_file_name("a.csv");
    request.mutable_current_to()->set_year(2024);
    request.mutable_current_to()->set_month(2);
    request.mutable_current_to()->set_day(30);
    request.set_size_bytes(10);
    request.set_sha256(Sha(file));
    Answer a = icbc.StartWith(kAnalyst, request);
    CHECK(a.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(ErrorField(a.status) == "current_to");
    request.mutable_current_to()->set_year(2999);
    request.mutable_current_to()->set_day(1);
    CHECK(ErrorField(icbc.StartWith(kAnalyst, request).status) == "current_to");
    request.mutable_current_to()->set_year(2024);
    request.set_sha256("ABC");
    CHECK(ErrorField(icbc.StartWith(kAnalyst, request).status) == "sha256");
    request.set_sha256(Sha(file));
    request.set_size_bytes((uint64_t{2} << 30) + 1);
    CHECK(ErrorField(icbc.StartWith(kAnalyst, request).status) == "size_bytes");
    request.set_size_bytes(10);
    request.set_file_name("");
    CHECK(ErrorField(icbc.StartWith(kAnalyst, request).status) == "file_name");
    request.set_file_name("a.csv");
    request.set_idempotency_key("");
    CHECK(ErrorField(icbc.StartWith(kAnalyst, request).status) == "idempotency_key");
    request.set_idempotency_key("v");
    a = icbc.StartWith(kSupplier, request);
    CHECK(a.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    // The key: a replay returns the same import, another request with it is refused.
    const Answer first = icbc.StartWith(kAnalyst, request);
    REQUIRE(first.status.ok());
    CHECK(first.import.status() == wire::ICBC_IMPORT_STATUS_UPLOADING);
    const Answer again = icbc.StartWith(kAnalyst, request);
    REQUIRE(again.status.ok());
    CHECK(again.import.id() == first.import.id());
    // After a later change of the import (its bytes arrive), a replay still answers with the
    // stored response, byte for byte, and changes nothing.
    REQUIRE(icbc.Chunk(kAnalyst, first.import.id(), 0, file.substr(0, 10)).status.ok());
    const Answer later = icbc.StartWith(kAnalyst, request);
    REQUIRE(later.status.ok());
    CHECK(later.import.received_bytes() == 0);
    CHECK(WireBytes(later.import) == WireBytes(first.import));
    CHECK(icbc.Get(kAnalyst, first.import.id()).import.received_bytes() == 10);
    CHECK(Sql(icbc.service.database_url(), "SELECT count(*) FROM icbc_imports") == "1");
    request.set_file_name("b.csv");
    a = icbc.StartWith(kAnalyst, request);
    CHECK(a.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(ErrorReason(a.status) == "IDEMPOTENCY_KEY_REUSED");
  }

  SECTION("chunks: size, owner, offsets, retries, bytes past the size") {
    const uint64_t id = icbc.Start(kAnalyst, file).import.id();
    Answer a = icbc.Chunk(kAnalyst, id, 0, std::string(kMiB + 1, 'x'));
    CHECK(a.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(ErrorField(a.status) == "data");
    CHECK(icbc.Chunk(kAnalyst, id, 0, "").status.error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
    a = icbc.Chunk(kDirector, id, 0, file.substr(0, 10));  // another user's import
    CHECK(a.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(icbc.Chunk(kSupplier, id, 0, file.substr(0, 10)).status.error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
    CHECK(icbc.Chunk(kAnalyst, id + 1000, 0, "x").status.error_code() ==
          grpc::StatusCode::NOT_FOUND);
    a = icbc.Chunk(kAnalyst, id, 0, file.substr(0, 10));
    REQUIRE(a.status.ok());
    CHECK(a.import.received_bytes() == 10);
    a = icbc.Chunk(kAnalyst, id, 0, file.substr(0, 10));  // a retry: no-op
    REQUIRE(a.status.ok());
    CHECK(a.import.received_bytes() == 10);
    CHECK(icbc.Chunk(kAnalyst, id, 2, file.substr(2, 5)).status.ok());  // inside, same bytes
    a = icbc.Chunk(kAnalyst, id, 0, "XXXXXXXXXX");                      // inside, other bytes
    CHECK(a.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(a.status) == "OFFSET_MISMATCH");
    CHECK(ErrorMetadata(a.status, "expected_offset") == "10");
    a = icbc.Chunk(kAnalyst, id, 12, file.substr(12, 5));  // a gap
    CHECK(ErrorReason(a.status) == "OFFSET_MISMATCH");
    CHECK(ErrorMetadata(a.status, "expected_offset") == "10");
    a = icbc.Chunk(kAnalyst, id, 10, file.substr(10) + "extra");  // past size_bytes
    CHECK(a.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(icbc.Get(kAnalyst, id).import.received_bytes() == 10);
    // Commit: the uploader only, all bytes first.
    CHECK(icbc.Commit(kDirector, id).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    a = icbc.Commit(kAnalyst, id);
    CHECK(ErrorReason(a.status) == "INCOMPLETE_UPLOAD");
    REQUIRE(icbc.Chunk(kAnalyst, id, 10, file.substr(10)).status.ok());
    a = icbc.Commit(kAnalyst, id);
    REQUIRE(a.status.ok());
    CHECK(a.import.status() == wire::ICBC_IMPORT_STATUS_QUEUED);
    a = icbc.Commit(kAnalyst, id);  // retried: as it is
    REQUIRE(a.status.ok());
    CHECK(a.import.status() == wire::ICBC_IMPORT_STATUS_QUEUED);
    a = icbc.Chunk(kAnalyst, id, file.size() - 1, file.substr(file.size() - 1));
    CHECK(ErrorReason(a.status) == "INVALID_STATUS");
    // Cancel: a director may; a QUEUED import becomes CANCELLED, its bytes deleted.
    a = icbc.Cancel(kDirector, id);
    REQUIRE(a.status.ok());
    CHECK(a.import.status() == wire::ICBC_IMPORT_STATUS_CANCELLED);
    CHECK(a.import.received_bytes() == file.size());  // kept, though the bytes are gone
    CHECK(icbc.Count("SELECT count(*) FROM icbc_import_chunks WHERE import_id = " +
                     std::to_string(id)) == 0);
    CHECK(icbc.Cancel(kAnalyst, id).status.ok());  // already CANCELLED: as it is
    // Another analyst (not the uploader, not a director) may not cancel.
    Sql(icbc.service.database_url(),
        "INSERT INTO users (username, organization_id) SELECT 'test_gov_2', organization_id "
        "FROM users WHERE username = 'test_gov_1'; INSERT INTO user_roles (username, role) "
        "VALUES ('test_gov_2', 'ENGINEER_ANALYST')");
    const uint64_t other = icbc.Start(kAnalyst, file).import.id();
    a = icbc.Cancel("test_gov_2", other);
    CHECK(a.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(icbc.Get("test_gov_2", other).import.status() == wire::ICBC_IMPORT_STATUS_UPLOADING);
    CHECK(icbc.Cancel(kAnalyst, other).status.ok());
    CHECK(icbc.Count("SELECT count(*) FROM outbox_events") == 0);  // no event for these steps
  }

  SECTION("a 2 GiB claim with a 10-byte file cannot be committed") {
    const std::string ten = file.substr(0, 10);
    const uint64_t id = icbc.Start(kAnalyst, ten, "", uint64_t{2} << 30).import.id();
    REQUIRE(icbc.Chunk(kAnalyst, id, 0, ten).status.ok());
    const Answer a = icbc.Commit(kAnalyst, id);
    CHECK(a.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(ErrorReason(a.status) == "INCOMPLETE_UPLOAD");
    CHECK(icbc.Get(kAnalyst, id).import.status() == wire::ICBC_IMPORT_STATUS_UPLOADING);
  }

  SECTION("a checksum that does not match fails the import, and the FAILED status is kept") {
    const uint64_t id = icbc.Start(kAnalyst, file, "", 0, std::string(64, 'a')).import.id();
    REQUIRE(icbc.Chunk(kAnalyst, id, 0, file).status.ok());
    const Answer a = icbc.Commit(kAnalyst, id);
    CHECK(ErrorReason(a.status) == "CHECKSUM_MISMATCH");
    const Answer after = icbc.Get(kAnalyst, id);
    CHECK(after.import.status() == wire::ICBC_IMPORT_STATUS_FAILED);
    CHECK(after.import.failure().find("SHA-256") != std::string::npos);
    CHECK(icbc.Commit(kAnalyst, id).status.ok());  // past UPLOADING: as it is
    CHECK(ErrorReason(icbc.Cancel(kAnalyst, id).status) == "INVALID_STATUS");
  }

  SECTION("suppliers may not read imports or registrations") {
    const uint64_t id = icbc.Start(kAnalyst, file).import.id();
    CHECK(icbc.Get(kSupplier, id).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(icbc.Get(kSupplier, id + 100).status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(icbc.Get(kDirector, id + 100).status.error_code() == grpc::StatusCode::NOT_FOUND);
    grpc::Status status;
    icbc.Lookup({Vin(1)}, &status, kSupplier);
    CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    icbc.Lookup({}, &status);
    CHECK(ErrorField(status) == "vins");
    icbc.Lookup(std::vector<std::string>(1001, Vin(1)), &status);
    CHECK(ErrorField(status) == "vins");
  }
}

TEST_CASE("ICBC: concurrent chunks at one offset, and a commit racing a cancel", "[icbc]") {
  Icbc icbc;
  const std::string file = "VIN,MAKE,MODEL,MODEL_YEAR\n" + Vin(1) + ",Tesla,Model 3,2020\n";
  for (int round = 0; round < 5; ++round) {
    const uint64_t id = icbc.Start(kAnalyst, file).import.id();
    // Eight callers send different first chunks at offset 0: exactly one is stored.
    std::vector<std::thread> threads;
    std::atomic<int> ok{0}, mismatch{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        const std::string data =
            t == 0 ? file.substr(0, 20) : std::string(20 + t, static_cast<char>('a' + t));
        const Answer a = icbc.Chunk(kAnalyst, id, 0, data);
        if (a.status.ok()) ++ok;
        if (ErrorReason(a.status) == "OFFSET_MISMATCH") ++mismatch;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(ok == 1);
    CHECK(mismatch == 7);
    CHECK(icbc.Count("SELECT count(*) FROM icbc_import_chunks WHERE import_id = " +
                     std::to_string(id)) == 1);
  }
  for (int round = 0; round < 10; ++round) {
    const uint64_t id = icbc.Upload(file, 16);
    Answer commit, cancel;
    std::thread a([&] { commit = icbc.Commit(kAnalyst, id); });
    std::thread b([&] { cancel = icbc.Cancel(kAnalyst, id); });
    a.join();
    b.join();
    INFO(commit.status.error_message() << " / " << cancel.status.error_message());
    REQUIRE(commit.status.ok());  // either QUEUED, or CANCELLED returned as it is
    REQUIRE(cancel.status.ok());  // UPLOADING or QUEUED: both cancellable (no worker here)
    const bool cancel_first = commit.import.status() == wire::ICBC_IMPORT_STATUS_CANCELLED;
    CHECK((cancel_first || commit.import.status() == wire::ICBC_IMPORT_STATUS_QUEUED));
    const Answer after = icbc.Get(kAnalyst, id);
    CHECK(after.import.status() == wire::ICBC_IMPORT_STATUS_CANCELLED);
    CHECK(icbc.Count("SELECT count(*) FROM icbc_import_chunks WHERE import_id = " +
                     std::to_string(id)) == 0);
  }
}

TEST_CASE("ICBC: an import that never finishes in 5 claims is FAILED, not retried for ever",
          "[icbc]") {
  Icbc icbc;
  const std::string file = "VIN,MAKE,MODEL,MODEL_YEAR\n" + Vin(1) + ",Tesla,Model 3,2020\n";
  const uint64_t id = icbc.Upload(file, kMiB);
  REQUIRE(icbc.Commit(kAnalyst, id).status.ok());
  // As if five workers had died holding it.
  Sql(icbc.service.database_url(),
      "UPDATE icbc_imports SET attempts = 5 WHERE id = " + std::to_string(id));
  auto worker = icbc.StartWorker();
  const wire::IcbcImport failed = icbc.WaitFor(id, wire::ICBC_IMPORT_STATUS_FAILED, 20s);
  CHECK(failed.failure().find("5 attempts") != std::string::npos);
  CHECK(icbc.Count("SELECT count(*) FROM icbc_registrations") == 0);
  CHECK(icbc.Count("SELECT count(*) FROM notifications WHERE event_type = 'icbc.import.failed'") ==
        1);
}

TEST_CASE("ICBC: the worker cancels uploads left without a chunk", "[icbc]") {
  Icbc icbc;
  const std::string file = "VIN,MAKE,MODEL,MODEL_YEAR\n";
  const uint64_t id = icbc.Start(kAnalyst, file).import.id();
  REQUIRE(icbc.Chunk(kAnalyst, id, 0, file.substr(0, 4)).status.ok());
  auto worker = icbc.StartWorker(
      {{"ICBC_ABANDONED_AFTER_SECONDS", "1"}, {"ICBC_CLEANUP_INTERVAL_SECONDS", "1"}});
  const wire::IcbcImport cancelled = icbc.WaitFor(id, wire::ICBC_IMPORT_STATUS_CANCELLED, 20s);
  CHECK(cancelled.received_bytes() == 4);
  CHECK(icbc.Count("SELECT count(*) FROM icbc_import_chunks") == 0);
}

TEST_CASE("ICBC: a worker killed mid-import; another completes it, readers see all or nothing",
          "[icbc]") {
  Icbc icbc;
  const std::string header = "VIN,MAKE,MODEL,MODEL_YEAR,HYBRID_VEHICLE_FLAG\n";
  // Before: 10 registrations.
  std::string small = header;
  for (int i = 0; i < 10; ++i) small += Vin(i) + ",Tesla,Model 3,2020,Y\n";
  {
    auto worker = icbc.StartWorker();
    icbc.Import(small);
  }
  // The big file: 200,000 rows; the first 10 VINs change, 5,000 rows are dropped, 1,000
  // rejected.
  std::string big = header;
  for (int i = 0; i < 200000; ++i) {
    if (i % 200 == 199) {
      big += Vin(i) + ",Ford,F-150,2021,N\n";  // dropped
    } else if (i % 200 == 198) {
      big += Vin(i) + ",Ford,F-150,20x1,Y\n";  // rejected
    } else {
      big += Vin(i) + ",Tesla,Model Y,2022,Y\n";
    }
  }
  const uint64_t id = icbc.Upload(big, kMiB);
  auto first = icbc.StartWorker();
  REQUIRE(icbc.Commit(kAnalyst, id).status.ok());
  // Killed once it has read part of the file.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    const Answer a = icbc.Get(kAnalyst, id);
    REQUIRE(a.status.ok());
    REQUIRE(a.import.status() != wire::ICBC_IMPORT_STATUS_COMPLETED);
    if (a.import.rows_read() > 0) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(kill(first->pid(), SIGKILL) == 0);
  first->StopWith(SIGKILL, 5s);
  CHECK(icbc.Count("SELECT count(*) FROM icbc_registrations") == 10);  // nothing half-applied

  // A reader that runs CHECK-like queries all along sees the registrations before or after.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, torn{0};
  std::set<std::string> seen;
  std::thread reader([&] {
    while (!stop) {
      const std::string state =
          Sql(icbc.service.database_url(),
              "SELECT count(*) || '/' || count(*) FILTER (WHERE model = 'Model Y') "
              "FROM icbc_registrations");
      if (state != "10/0" && state != "198000/198000") ++torn;
      if (seen.size() < 10) seen.insert(state);
      ++reads;
    }
  });
  const auto takeover_started = std::chrono::steady_clock::now();
  auto second = icbc.StartWorker();
  const wire::IcbcImport done = icbc.WaitFor(id, wire::ICBC_IMPORT_STATUS_COMPLETED, 60s);
  stop = true;
  reader.join();
  CHECK(std::chrono::steady_clock::now() - takeover_started < 60s);
  CHECK(done.rows_read() == 200000);
  CHECK(done.rows_kept() == 198000);
  CHECK(done.rows_rejected() == 1000);
  CHECK(done.errors_size() == 100);
  CHECK(done.registrations_added() == 197990);
  CHECK(done.registrations_changed() == 10);
  CHECK(done.registrations_unchanged() == 0);
  INFO("states seen: " << seen.size());
  CHECK(torn == 0);
  CHECK(reads > 0);
  CHECK(icbc.Count("SELECT count(*) FROM icbc_registrations") == 198000);
}
