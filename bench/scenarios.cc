#include "bench/scenarios.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "organizations.grpc.pb.h"
#include "transactions.grpc.pb.h"
#include "zevs.grpc.pb.h"

namespace zeva::bench {

std::unique_ptr<grpc::ClientContext> NewContext(const std::string& token, int timeout_ms) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  return context;
}

CallOutcome Outcome(const grpc::Status& status, int64_t rows) {
  CallOutcome outcome;
  outcome.code = status.error_code();
  outcome.rows = status.ok() ? rows : 0;
  if (!status.ok()) outcome.message = status.error_message();
  return outcome;
}

namespace {

using grpc::health::v1::Health;
using zeva::organizations::OrganizationDetails;
using zeva::transactions::TransactionList;
using zeva::transactions::ZEVModels;

template <typename Response, typename Reader>
CallOutcome DrainStream(Reader reader) {
  Response row;
  int64_t rows = 0;
  while (reader->Read(&row)) ++rows;
  return Outcome(reader->Finish(), rows);
}

class HealthWorker : public Worker {
 public:
  HealthWorker(const BenchOptions& o, const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), stub_(Health::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext("", o_.call_timeout_ms);
    grpc::health::v1::HealthCheckRequest request;  // "": the server as a whole, no database
    grpc::health::v1::HealthCheckResponse response;
    return Outcome(stub_->Check(context.get(), request, &response), 1);
  }

 private:
  const BenchOptions& o_;
  std::unique_ptr<Health::Stub> stub_;
};

class OrganizationWorker : public Worker {
 public:
  OrganizationWorker(const BenchOptions& o, const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), stub_(OrganizationDetails::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    zeva::organizations::GetMyOrganizationRequest request;
    zeva::organizations::MyOrganizationResponse response;
    return Outcome(stub_->GetMyOrganization(context.get(), request, &response), 1);
  }

 private:
  const BenchOptions& o_;
  std::unique_ptr<OrganizationDetails::Stub> stub_;
};

class ModelDetailsWorker : public Worker {
 public:
  ModelDetailsWorker(const BenchOptions& o, uint64_t id,
                     const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), id_(id), stub_(ZEVModels::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    zeva::transactions::ModelDetailsRequest request;
    request.set_id(id_);
    zeva::transactions::ModelDetails response;
    return Outcome(stub_->GetModelDetails(context.get(), request, &response), 1);
  }

 private:
  const BenchOptions& o_;
  const uint64_t id_;
  std::unique_ptr<ZEVModels::Stub> stub_;
};

class ListModelsWorker : public Worker {
 public:
  ListModelsWorker(const BenchOptions& o, const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), stub_(ZEVModels::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    zeva::transactions::ModelListRequest request;
    return DrainStream<zeva::transactions::ModelSummary>(stub_->ListModels(context.get(), request));
  }

 private:
  const BenchOptions& o_;
  std::unique_ptr<ZEVModels::Stub> stub_;
};

class TransactionsWorker : public Worker {
 public:
  TransactionsWorker(const BenchOptions& o, const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), stub_(TransactionList::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    zeva::transactions::TransactionListRequest request;
    return DrainStream<zeva::transactions::TransactionSummary>(
        stub_->GetTransactions(context.get(), request));
  }

 private:
  const BenchOptions& o_;
  std::unique_ptr<TransactionList::Stub> stub_;
};

// Fields of a model a bench caller writes; the trim makes it unique (run, caller, sequence).
template <typename Request>
void FillModel(Request* request, const std::string& trim, uint32_t range) {
  request->set_make("Bench");
  request->set_model("Load");
  request->set_type("BEV");
  request->set_trim(trim);
  request->set_range(range);
}

class CreateModelWorker : public Worker {
 public:
  CreateModelWorker(const BenchOptions& o, const SharedSetup& shared, int index,
                    const std::shared_ptr<grpc::Channel>& channel)
      : o_(o),
        prefix_(absl::StrCat("c-", shared.run_tag, "-", index, "-")),
        stub_(ZEVModels::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.writer_token, o_.call_timeout_ms);
    zeva::transactions::ModelCreateRequest request;
    FillModel(&request, absl::StrCat(prefix_, sequence_++), 300);
    zeva::transactions::ModelCreateResponse response;
    return Outcome(stub_->CreateModelRequest(context.get(), request, &response), 1);
  }

 private:
  const BenchOptions& o_;
  const std::string prefix_;
  uint64_t sequence_ = 0;
  std::unique_ptr<ZEVModels::Stub> stub_;
};

// Creates one model of its own, then keeps changing its range.
class UpdateModelWorker : public Worker {
 public:
  UpdateModelWorker(const BenchOptions& o, const SharedSetup& shared, int index,
                    const std::shared_ptr<grpc::Channel>& channel)
      : o_(o),
        trim_(absl::StrCat("u-", shared.run_tag, "-", index)),
        stub_(ZEVModels::NewStub(channel)) {}
  absl::Status Prepare() override {
    auto context = NewContext(o_.writer_token, o_.call_timeout_ms);
    zeva::transactions::ModelCreateRequest request;
    FillModel(&request, trim_, 100);
    zeva::transactions::ModelCreateResponse response;
    grpc::Status status = stub_->CreateModelRequest(context.get(), request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("update-model set-up: create failed: ", status.error_message()));
    }
    id_ = response.id();
    return absl::OkStatus();
  }
  CallOutcome Call() override {
    auto context = NewContext(o_.writer_token, o_.call_timeout_ms);
    zeva::transactions::ModelUpdateRequest request;
    request.set_id(id_);
    FillModel(&request, trim_, static_cast<uint32_t>(101 + sequence_++ % 1000));
    zeva::transactions::ModelUpdateResponse response;
    return Outcome(stub_->UpdateModelRequest(context.get(), request, &response), 1);
  }

 private:
  const BenchOptions& o_;
  const std::string trim_;
  uint64_t id_ = 0;
  uint64_t sequence_ = 0;
  std::unique_ptr<ZEVModels::Stub> stub_;
};

// Shaped like the frontend: a page load asks for the organization and a list, a detail view
// follows now and then, and writes are rare. Weights in percent.
class MixedWorker : public Worker {
 public:
  MixedWorker(const BenchOptions& o, const SharedSetup& shared, int index,
              const std::shared_ptr<grpc::Channel>& channel)
      : random_(static_cast<uint32_t>(index) * 7919u + 1) {
    Add(30, std::make_unique<OrganizationWorker>(o, channel));
    Add(25, std::make_unique<ListModelsWorker>(o, channel));
    Add(20, std::make_unique<ModelDetailsWorker>(o, shared.model_id, channel));
    Add(15, std::make_unique<TransactionsWorker>(o, channel));
    Add(5, std::make_unique<CreateModelWorker>(o, shared, index, channel));
    Add(5, std::make_unique<UpdateModelWorker>(o, shared, index, channel));
  }
  absl::Status Prepare() override {
    for (auto& [weight, worker] : workers_) {
      if (absl::Status status = worker->Prepare(); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  CallOutcome Call() override {
    int pick = std::uniform_int_distribution<int>(0, total_ - 1)(random_);
    for (auto& [weight, worker] : workers_) {
      if (pick < weight) return worker->Call();
      pick -= weight;
    }
    return workers_.back().second->Call();
  }

 private:
  void Add(int weight, std::unique_ptr<Worker> worker) {
    total_ += weight;
    workers_.emplace_back(weight, std::move(worker));
  }
  std::minstd_rand random_;
  int total_ = 0;
  std::vector<std::pair<int, std::unique_ptr<Worker>>> workers_;
};

}  // namespace

absl::StatusOr<SharedSetup> PrepareShared(const BenchOptions& options,
                                          const std::shared_ptr<grpc::Channel>& channel) {
  SharedSetup shared;
  shared.run_tag = absl::StrCat(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                        .count() %
                                    100000000,
                                "-", ::getpid());
  if (options.scenario != "model-details" && options.scenario != "mixed") return shared;
  auto stub = ZEVModels::NewStub(channel);
  auto context = NewContext(options.token, options.call_timeout_ms);
  zeva::transactions::ModelListRequest request;
  auto reader = stub->ListModels(context.get(), request);
  zeva::transactions::ModelSummary model;
  if (reader->Read(&model)) shared.model_id = model.id();
  while (reader->Read(&model)) {
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ListModels (set-up) failed: ", status.error_message()));
  }
  if (shared.model_id == 0) {
    return absl::FailedPreconditionError("the reading caller has no model to ask details of");
  }
  return shared;
}

std::unique_ptr<Worker> MakeWorker(const std::string& scenario, const BenchOptions& options,
                                   const SharedSetup& shared,
                                   const std::shared_ptr<grpc::Channel>& channel, int index) {
  if (scenario == "health") return std::make_unique<HealthWorker>(options, channel);
  if (scenario == "organization") return std::make_unique<OrganizationWorker>(options, channel);
  if (scenario == "model-details") {
    return std::make_unique<ModelDetailsWorker>(options, shared.model_id, channel);
  }
  if (scenario == "list-models") return std::make_unique<ListModelsWorker>(options, channel);
  if (scenario == "transactions") return std::make_unique<TransactionsWorker>(options, channel);
  if (scenario == "create-model") {
    return std::make_unique<CreateModelWorker>(options, shared, index, channel);
  }
  if (scenario == "update-model") {
    return std::make_unique<UpdateModelWorker>(options, shared, index, channel);
  }
  return std::make_unique<MixedWorker>(options, shared, index, channel);
}

absl::Status WaitUntilServing(const std::shared_ptr<grpc::Channel>& channel, int timeout_ms) {
  auto stub = Health::NewStub(channel);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < until) {
    auto context = NewContext("", 1000);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("zeva.transactions.TransactionList");
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(context.get(), request, &response);
    if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    last = status.ok()
               ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status())
               : status.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("server not SERVING in time (", last, ")"));
}

}  // namespace zeva::bench
