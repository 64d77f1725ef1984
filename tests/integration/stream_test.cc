// Streaming at scale: flat memory however many rows, and a cancelled stream gives its
// database connection back at once.

#include <catch2/catch.hpp>
#include <thread>

#include "tests/support/service_fixture.h"
#include "tests/support/wait_until.h"
#include "transactions.grpc.pb.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;
using zeva::transactions::TransactionList;

TEST_CASE("streaming 100 000 transactions keeps resident memory growth under 64 MiB", "[stream]") {
  ServiceFixture service;
  AddTransactions(service.database_url(), 100000, "Test Vehicle Supplier 1");
  auto stub = TransactionList::NewStub(service.channel());
  {  // warm-up: connections, prepared statements, caches
    auto context = service.ContextFor("test_vs_2");
    auto reader = stub->GetTransactions(context.get(), {});
    zeva::transactions::TransactionSummary row;
    while (reader->Read(&row)) {
    }
    REQUIRE(reader->Finish().ok());
  }
  const long before_kib = service.server().ResidentKiB();
  auto context = service.ContextFor("test_vs_1");
  auto reader = stub->GetTransactions(context.get(), {});
  zeva::transactions::TransactionSummary row;
  int64_t count = 0;
  uint64_t last_id = 0;
  bool ordered = true;
  long peak_kib = before_kib;
  while (reader->Read(&row)) {
    ordered = ordered && row.id() > last_id;
    last_id = row.id();
    if (++count % 1000 == 0) peak_kib = std::max(peak_kib, service.server().ResidentKiB());
  }
  REQUIRE(reader->Finish().ok());
  CHECK(count == 100003);
  CHECK(ordered);
  peak_kib = std::max(peak_kib, service.server().ResidentKiB());
  const long growth_kib = peak_kib - before_kib;
  WARN("server RSS before " << before_kib << " KiB, peak during stream " << peak_kib
                            << " KiB, growth " << growth_kib << " KiB");
  CHECK(growth_kib < 64L * 1024);
}

TEST_CASE("a cancelled stream frees its database connection at once", "[stream]") {
  // One connection in the pool: the next call can only succeed once the stream released it.
  ServiceFixture service({"--db-pool-size=1", "--db-acquire-timeout-ms=1500"});
  AddTransactions(service.database_url(), 50000, "Test Vehicle Supplier 1");
  auto stub = TransactionList::NewStub(service.channel());
  auto context = service.ContextFor("test_vs_1");
  auto reader = stub->GetTransactions(context.get(), {});
  zeva::transactions::TransactionSummary row;
  int read = 0;
  while (read < 1000 && reader->Read(&row)) ++read;
  REQUIRE(read == 1000);
  context->TryCancel();
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);

  const auto started = std::chrono::steady_clock::now();
  auto models = zeva::transactions::ZEVModels::NewStub(service.channel());
  auto list_context = service.ContextFor("test_vs_1");
  auto list = models->ListModels(list_context.get(), {});
  zeva::transactions::ModelSummary model;
  int models_read = 0;
  while (list->Read(&model)) ++models_read;
  const grpc::Status status = list->Finish();
  INFO(status.error_message());
  CHECK(status.ok());
  CHECK(models_read == 3);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500));
  // And PostgreSQL runs no leftover query for it (its backend goes idle soon after the
  // cancel: within 2 s, where the unread query would run on).
  CHECK(WaitUntil(
      [&] {
        return Sql(service.database_url(),
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'zeva-transaction-service' AND state = 'active'") == "0";
      },
      std::chrono::seconds(2)));
}

TEST_CASE("a stream past its deadline ends DEADLINE_EXCEEDED and frees its connection",
          "[stream]") {
  ServiceFixture service({"--db-pool-size=1", "--db-acquire-timeout-ms=1500"});
  AddTransactions(service.database_url(), 50000, "Test Vehicle Supplier 1");
  auto stub = TransactionList::NewStub(service.channel());
  auto context = service.ContextFor("test_vs_1");
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  auto reader = stub->GetTransactions(context.get(), {});
  zeva::transactions::TransactionSummary row;
  int read = 0;
  while (reader->Read(&row)) {
    // A slow reader on purpose: the deadline passes long before 50 000 rows.
    if (++read % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(read < 50003);

  // The only connection is free again: the next call gets it at once.
  auto next = service.ContextFor("test_vs_1");
  auto again = stub->GetTransactions(next.get(), {});
  int rows = 0;
  while (again->Read(&row)) ++rows;
  CHECK(again->Finish().ok());
  CHECK(rows == 50003);
}
