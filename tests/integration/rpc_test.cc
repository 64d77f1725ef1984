// The seven contract RPCs end to end: real PostgreSQL migrated with the fixtures, the real
// server, clients generated from the contract. Fixture users: test_vs_1 (Test Vehicle
// Supplier 1: three models, three transactions), test_vs_2 (supplier 2: nothing),
// test_gov_1 (government).

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "organizations.grpc.pb.h"
#include "tests/support/service_fixture.h"
#include "transactions.grpc.pb.h"
#include "zevs.grpc.pb.h"

using namespace zeva::testing;
using zeva::organizations::OrganizationDetails;
using zeva::transactions::TransactionList;
using zeva::transactions::ZEVModels;

namespace {

struct Listed {
  grpc::Status status;
  std::vector<zeva::transactions::ModelSummary> models;
};

Listed ListModels(ServiceFixture& service, const std::string& user, uint64_t organization = 0) {
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor(user);
  zeva::transactions::ModelListRequest request;
  request.set_organization(organization);
  auto reader = stub->ListModels(context.get(), request);
  Listed out;
  zeva::transactions::ModelSummary summary;
  while (reader->Read(&summary)) out.models.push_back(summary);
  out.status = reader->Finish();
  return out;
}

std::vector<zeva::transactions::TransactionSummary> Transactions(ServiceFixture& service,
                                                                 const std::string& user,
                                                                 grpc::Status* status) {
  auto stub = TransactionList::NewStub(service.channel());
  auto context = service.ContextFor(user);
  auto reader = stub->GetTransactions(context.get(), {});
  std::vector<zeva::transactions::TransactionSummary> rows;
  zeva::transactions::TransactionSummary row;
  while (reader->Read(&row)) rows.push_back(row);
  *status = reader->Finish();
  return rows;
}

grpc::Status MyOrganization(ServiceFixture& service, const std::string& user,
                            zeva::organizations::MyOrganizationResponse* response) {
  auto stub = OrganizationDetails::NewStub(service.channel());
  auto context = service.ContextFor(user);
  return stub->GetMyOrganization(context.get(), {}, response);
}

zeva::transactions::ModelCreateRequest NewModel(const std::string& trim, uint32_t range = 300,
                                                const std::string& type = "BEV") {
  zeva::transactions::ModelCreateRequest request;
  request.set_make("Tesla");
  request.set_model("Model 3");
  request.set_type(type);
  request.set_trim(trim);
  request.set_range(range);
  return request;
}

grpc::Status Create(ServiceFixture& service, const std::string& user,
                    const zeva::transactions::ModelCreateRequest& request, uint64_t* id) {
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor(user);
  zeva::transactions::ModelCreateResponse response;
  grpc::Status status = stub->CreateModelRequest(context.get(), request, &response);
  *id = response.id();
  return status;
}

grpc::Status Details(ServiceFixture& service, const std::string& user, uint64_t id,
                     zeva::transactions::ModelDetails* details) {
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor(user);
  zeva::transactions::ModelDetailsRequest request;
  request.set_id(id);
  return stub->GetModelDetails(context.get(), request, details);
}

grpc::Status Update(ServiceFixture& service, const std::string& user,
                    const zeva::transactions::ModelUpdateRequest& request) {
  auto stub = ZEVModels::NewStub(service.channel());
  auto context = service.ContextFor(user);
  zeva::transactions::ModelUpdateResponse response;
  return stub->UpdateModelRequest(context.get(), request, &response);
}

zeva::transactions::ModelUpdateRequest UpdateOf(uint64_t id,
                                                const zeva::transactions::ModelCreateRequest& m) {
  zeva::transactions::ModelUpdateRequest request;
  request.set_id(id);
  request.set_make(m.make());
  request.set_model(m.model());
  request.set_type(m.type());
  request.set_trim(m.trim());
  request.set_range(m.range());
  return request;
}

}  // namespace

TEST_CASE("GetMyOrganization names the caller's organization and its real type", "[rpc]") {
  ServiceFixture service;
  zeva::organizations::MyOrganizationResponse supplier;
  REQUIRE(MyOrganization(service, "test_vs_1", &supplier).ok());
  CHECK(supplier.name() == "Test Vehicle Supplier 1");
  CHECK(supplier.type() == zeva::organizations::VEHICLE_SUPPLIER);

  zeva::organizations::MyOrganizationResponse other;
  REQUIRE(MyOrganization(service, "test_vs_2", &other).ok());
  CHECK(other.name() == "Test Vehicle Supplier 2");

  zeva::organizations::MyOrganizationResponse government;
  REQUIRE(MyOrganization(service, "test_gov_1", &government).ok());
  CHECK(government.type() == zeva::organizations::GOVERNMENT);
  CHECK(government.name() == "Government of British Columbia");
}

TEST_CASE("ListModels: own models longest range first; government chooses", "[rpc]") {
  ServiceFixture service;
  Listed first = ListModels(service, "test_vs_1");
  REQUIRE(first.status.ok());
  REQUIRE(first.models.size() == 3);
  CHECK(first.models[0].range() == 500);
  CHECK(first.models[1].range() == 250);
  CHECK(first.models[2].range() == 150);
  // Whole part as before, exact value in the new field.
  CHECK(first.models[0].credits().credits() == 700);
  CHECK(first.models[0].credits().hundredths() == 70050);
  CHECK(first.models[2].credits().credits() == 100);
  CHECK(first.models[2].credits().hundredths() == 10020);
  CHECK(first.models[0].type() == "HEV");
  CHECK(first.models[0].trim() == "Import");

  Listed second = ListModels(service, "test_vs_2");
  REQUIRE(second.status.ok());
  CHECK(second.models.empty());

  const std::string supplier_1 =
      Sql(service.database_url(),
          "SELECT id FROM organizations WHERE name = 'Test Vehicle Supplier 1'");
  const std::string supplier_2 =
      Sql(service.database_url(),
          "SELECT id FROM organizations WHERE name = 'Test Vehicle Supplier 2'");

  SECTION("a supplier may name its own organization, not another") {
    CHECK(ListModels(service, "test_vs_1", std::stoull(supplier_1)).models.size() == 3);
    Listed denied = ListModels(service, "test_vs_2", std::stoull(supplier_1));
    CHECK(denied.status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(denied.models.empty());
  }
  SECTION("government sees all (0) or the organization it names") {
    CHECK(ListModels(service, "test_gov_1").models.size() == 3);
    CHECK(ListModels(service, "test_gov_1", std::stoull(supplier_1)).models.size() == 3);
    Listed none = ListModels(service, "test_gov_1", std::stoull(supplier_2));
    CHECK(none.status.ok());
    CHECK(none.models.empty());
  }
}

TEST_CASE("GetTransactions returns the caller's organization's transactions only", "[rpc]") {
  ServiceFixture service;
  grpc::Status status;
  auto own = Transactions(service, "test_vs_1", &status);
  REQUIRE(status.ok());
  REQUIRE(own.size() == 3);
  CHECK(own[0].type() == zeva::transactions::BOUGHT);
  CHECK(own[0].credits().credits() == 100);
  CHECK(own[0].amount().cents() == 100);
  CHECK(own[1].type() == zeva::transactions::SOLD);
  CHECK(own[2].amount().cents() == 300);
  const std::string updated = Sql(
      service.database_url(),
      "SELECT floor(extract(epoch FROM updated))::bigint FROM transactions ORDER BY id LIMIT 1");
  CHECK(own[0].timestamp().seconds() == std::stoll(updated));
  CHECK(own[0].timestamp().nanos() == 0);

  // The old service's defect: every organization's transactions went to any caller.
  auto other = Transactions(service, "test_vs_2", &status);
  REQUIRE(status.ok());
  CHECK(other.empty());

  Sql(service.database_url(),
      "INSERT INTO transactions (type, credits, transaction_amount) VALUES ('VALIDATION', 5, 0)");
  auto government = Transactions(service, "test_gov_1", &status);
  REQUIRE(status.ok());
  CHECK(government.size() == 4);  // including the one that belongs to no organization
  CHECK(Transactions(service, "test_vs_1", &status).size() == 3);
}

TEST_CASE("CreateModelRequest computes credits and enforces who may create what", "[rpc]") {
  ServiceFixture service;
  uint64_t id = 0;
  REQUIRE(Create(service, "test_vs_2", NewModel("Long Range", 500), &id).ok());
  REQUIRE(id > 0);
  zeva::transactions::ModelDetails details;
  REQUIRE(Details(service, "test_vs_2", id, &details).ok());
  // Class A: 0.006214 * 500 + 0.5 = 3.607 -> 3.61
  CHECK(details.credits().hundredths() == 361);
  CHECK(details.credits().credits() == 3);
  CHECK(details.make() == "Tesla");
  CHECK(details.range() == 500);
  CHECK(ListModels(service, "test_vs_2").models.size() == 1);

  SECTION("an identical model is ALREADY_EXISTS; a different trim is not") {
    uint64_t again = 0;
    CHECK(Create(service, "test_vs_2", NewModel("Long Range", 500), &again).error_code() ==
          grpc::StatusCode::ALREADY_EXISTS);
    CHECK(Create(service, "test_vs_2", NewModel("Performance", 500), &again).ok());
    // Another organization may report the same model.
    CHECK(Create(service, "test_vs_1", NewModel("Long Range", 500), &again).ok());
  }
  SECTION("government users may not create models") {
    uint64_t ignored = 0;
    CHECK(Create(service, "test_gov_1", NewModel("Gov"), &ignored).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
  }
  SECTION("each invalid field is INVALID_ARGUMENT naming the field, and nothing is written") {
    const std::string before = Sql(service.database_url(), "SELECT count(*) FROM vehicles");
    struct Case {
      zeva::transactions::ModelCreateRequest request;
      std::string field;
    };
    std::vector<Case> cases;
    auto base = NewModel("Base");
    {
      auto r = base;
      r.set_make("");
      cases.push_back({r, "make"});
    }
    {
      auto r = base;
      r.set_model("   ");
      cases.push_back({r, "model"});
    }
    {
      auto r = base;
      r.set_type("");
      cases.push_back({r, "type"});
    }
    {
      auto r = base;
      r.set_trim(std::string(101, 'x'));
      cases.push_back({r, "trim"});
    }
    {
      auto r = base;
      r.set_range(0);
      cases.push_back({r, "range"});
    }
    {
      auto r = base;
      r.set_range(100000);
      cases.push_back({r, "range"});
    }
    {
      auto r = base;
      r.set_type("HEV");
      cases.push_back({r, "type"});
    }
    for (const auto& c : cases) {
      uint64_t ignored = 0;
      grpc::Status status = Create(service, "test_vs_2", c.request, &ignored);
      INFO(c.field << ": " << status.error_message());
      CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(status.error_message().find(c.field) != std::string::npos);
    }
    CHECK(Sql(service.database_url(), "SELECT count(*) FROM vehicles") == before);
  }
}

TEST_CASE("GetModelDetails hides other suppliers' models behind NOT_FOUND", "[rpc]") {
  ServiceFixture service;
  const uint64_t fixture_id =
      std::stoull(Sql(service.database_url(), "SELECT id FROM vehicles WHERE \"trim\" = 'XLS'"));
  zeva::transactions::ModelDetails details;
  REQUIRE(Details(service, "test_vs_1", fixture_id, &details).ok());
  CHECK(details.trim() == "XLS");
  CHECK(details.credits().hundredths() == 30050);
  CHECK(Details(service, "test_gov_1", fixture_id, &details).ok());

  zeva::transactions::ModelDetails hidden;
  grpc::Status other = Details(service, "test_vs_2", fixture_id, &hidden);
  CHECK(other.error_code() == grpc::StatusCode::NOT_FOUND);
  grpc::Status missing = Details(service, "test_vs_2", 987654321, &hidden);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  // The two answers cannot be told apart except by the id they repeat.
  CHECK(other.error_message().substr(0, 16) == missing.error_message().substr(0, 16));
  CHECK(Details(service, "test_vs_1", 0, &hidden).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("UpdateModelRequest validates, recomputes credits and respects ownership", "[rpc]") {
  ServiceFixture service;
  uint64_t id = 0;
  REQUIRE(Create(service, "test_vs_2", NewModel("Standard", 200, "PHEV"), &id).ok());
  zeva::transactions::ModelDetails details;
  REQUIRE(Details(service, "test_vs_2", id, &details).ok());
  // Class B: 0.006214 * 200 + 0.3 = 1.5428 -> capped at 1.10
  CHECK(details.credits().hundredths() == 110);
  const std::string updated_before =
      Sql(service.database_url(), "SELECT updated FROM vehicles WHERE id = " + std::to_string(id));

  auto change = UpdateOf(id, NewModel("Standard Plus", 100, "EREV"));
  REQUIRE(Update(service, "test_vs_2", change).ok());
  REQUIRE(Details(service, "test_vs_2", id, &details).ok());
  CHECK(details.trim() == "Standard Plus");
  CHECK(details.type() == "EREV");
  // EREV under 121 km is class B: 0.006214 * 100 + 0.3 = 0.9214 -> 0.92
  CHECK(details.credits().hundredths() == 92);
  CHECK(Sql(service.database_url(), "SELECT updated > '" + updated_before +
                                        "' FROM vehicles WHERE id = " + std::to_string(id)) == "t");

  CHECK(Update(service, "test_vs_1", change).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(Update(service, "test_gov_1", change).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  auto invalid = change;
  invalid.set_make("");
  CHECK(Update(service, "test_vs_2", invalid).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  auto missing = change;
  missing.set_id(987654321);
  CHECK(Update(service, "test_vs_2", missing).error_code() == grpc::StatusCode::NOT_FOUND);

  uint64_t second = 0;
  REQUIRE(Create(service, "test_vs_2", NewModel("Other", 300), &second).ok());
  CHECK(Update(service, "test_vs_2", UpdateOf(second, NewModel("Standard Plus", 100, "EREV")))
            .error_code() == grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("concurrent updates of one model each apply whole, none half", "[rpc]") {
  ServiceFixture service;
  uint64_t id = 0;
  REQUIRE(Create(service, "test_vs_2", NewModel("T0", 100), &id).ok());
  std::vector<std::thread> writers;
  std::atomic<int> succeeded{0};
  for (int i = 1; i <= 8; ++i) {
    writers.emplace_back([&, i] {
      auto request = UpdateOf(id, NewModel("T" + std::to_string(i), 100 * i));
      if (Update(service, "test_vs_2", request).ok()) ++succeeded;
    });
  }
  for (auto& t : writers) t.join();
  CHECK(succeeded == 8);
  zeva::transactions::ModelDetails details;
  REQUIRE(Details(service, "test_vs_2", id, &details).ok());
  // Whichever came last, its trim, range and credits belong together.
  const int i = std::stoi(details.trim().substr(1));
  CHECK(details.range() == static_cast<uint32_t>(100 * i));
  CHECK(details.credits().hundredths() ==
        static_cast<uint64_t>(std::min<int64_t>((6214 * 100 * i + 500000 + 5000) / 10000, 400)));
}

TEST_CASE("every method of the contract answers with a status, never a transport error", "[rpc]") {
  ServiceFixture service;
  // Without a token every method is UNAUTHENTICATED with the contract's message.
  grpc::ClientContext c1, c2, c3, c4, c5, c6, c7;
  zeva::organizations::MyOrganizationResponse org;
  auto organizations = OrganizationDetails::NewStub(service.channel());
  auto models = ZEVModels::NewStub(service.channel());
  auto transactions = TransactionList::NewStub(service.channel());
  std::vector<grpc::Status> statuses;
  statuses.push_back(organizations->GetMyOrganization(&c1, {}, &org));
  zeva::transactions::ModelDetails details;
  statuses.push_back(models->GetModelDetails(&c2, {}, &details));
  zeva::transactions::ModelCreateResponse created;
  statuses.push_back(models->CreateModelRequest(&c3, {}, &created));
  zeva::transactions::ModelUpdateResponse updated;
  statuses.push_back(models->UpdateModelRequest(&c4, {}, &updated));
  statuses.push_back(models->ListModels(&c5, {})->Finish());
  statuses.push_back(transactions->GetTransactions(&c6, {})->Finish());
  for (const auto& status : statuses) {
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(status.error_message() == "No authentication header");
  }
}
