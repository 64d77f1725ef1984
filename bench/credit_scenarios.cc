#include "bench/credit_scenarios.h"

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "zeva/credits/v1/compliance.grpc.pb.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::bench {
namespace {

namespace credits = ::zeva::credits::v1;
constexpr uint32_t kYear = 2021;
constexpr int kSellers = 64;  // bench_hot_N and bench_spread_N, N = 1..64 (bench/run.sh)

const std::string& TokenOf(const CreditSetup& setup, const std::string& user) {
  static const std::string none;
  auto it = setup.tokens.find(user);
  return it == setup.tokens.end() ? none : it->second;
}

absl::StatusOr<uint64_t> OrganizationOf(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& token, int timeout_ms) {
  auto stub = credits::IdentityService::NewStub(channel);
  auto context = NewContext(token, timeout_ms);
  credits::CurrentUser user;
  const grpc::Status status = stub->GetCurrentUser(context.get(), {}, &user);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("GetCurrentUser: ", status.error_message()));
  }
  return user.organization().id();
}

class BalancesWorker : public Worker {
 public:
  BalancesWorker(const BenchOptions& o, const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), stub_(credits::CreditLedgerService::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    credits::GetBalancesResponse response;
    const grpc::Status status = stub_->GetBalances(context.get(), {}, &response);
    return Outcome(status, response.balances_size());
  }

 private:
  const BenchOptions& o_;
  std::unique_ptr<credits::CreditLedgerService::Stub> stub_;
};

class LedgerEntriesWorker : public Worker {
 public:
  LedgerEntriesWorker(const BenchOptions& o, const std::shared_ptr<grpc::Channel>& channel)
      : o_(o), stub_(credits::CreditLedgerService::NewStub(channel)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    auto reader = stub_->ListLedgerEntries(context.get(), {});
    credits::LedgerEntry entry;
    int64_t rows = 0;
    while (reader->Read(&entry)) ++rows;
    return Outcome(reader->Finish(), rows);
  }

 private:
  const BenchOptions& o_;
  std::unique_ptr<credits::CreditLedgerService::Stub> stub_;
};

// One unary call with an empty request, by the reading caller: measures a family (identity,
// notifications, compliance) through a call of it that needs no set-up.
class EmptyRequestWorker : public Worker {
 public:
  using Send = std::function<grpc::Status(grpc::ClientContext*)>;
  EmptyRequestWorker(const BenchOptions& o, Send send) : o_(o), send_(std::move(send)) {}
  CallOutcome Call() override {
    auto context = NewContext(o_.token, o_.call_timeout_ms);
    return Outcome(send_(context.get()), 1);
  }

 private:
  const BenchOptions& o_;
  const Send send_;
};

// The Send of one stub method: the stub lives in it.
template <typename Stub, typename Request, typename Response>
EmptyRequestWorker::Send EmptyRequest(std::unique_ptr<Stub> stub,
                                      grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*)) {
  return [stub = std::shared_ptr<Stub>(std::move(stub)), method](grpc::ClientContext* context) {
    Response response;
    return (stub.get()->*method)(context, Request(), &response);
  };
}

// The director issues credits for one vehicle, with a reference of its own per call.
class IssueCreditsWorker : public Worker {
 public:
  IssueCreditsWorker(const BenchOptions& o, const SharedSetup& shared, const CreditSetup& setup,
                     const std::shared_ptr<grpc::Channel>& channel, int index)
      : o_(o),
        token_(TokenOf(setup, "test_gov_director")),
        prefix_(absl::StrCat("bench/", shared.run_tag, "/", index, "/")),
        stub_(credits::CreditAdminService::NewStub(channel)) {}
  CallOutcome Call() override {
    credits::IssueCreditsRequest request;
    const std::string reference = absl::StrCat(prefix_, sequence_++);
    request.set_idempotency_key(reference);
    request.set_organization_id(o_.issue_organization_id);
    request.set_reference(reference);
    auto* line = request.add_lines();
    line->set_vehicle_id(o_.issue_vehicle_id);
    line->set_model_year(kYear);
    line->set_quantity(1);
    auto context = NewContext(token_, o_.call_timeout_ms);
    credits::Journal journal;
    return Outcome(stub_->IssueCredits(context.get(), request, &journal), 1);
  }

 private:
  const BenchOptions& o_;
  const std::string token_;
  const std::string prefix_;
  uint64_t sequence_ = 0;
  std::unique_ptr<credits::CreditAdminService::Stub> stub_;
};

// What a selling caller shares: funding its organization, creating and moving its transfers.
class Seller {
 public:
  Seller(const BenchOptions& o, const SharedSetup& shared, const CreditSetup& setup,
         const std::shared_ptr<grpc::Channel>& channel, std::string user, int index)
      : o_(o),
        setup_(setup),
        channel_(channel),
        user_(std::move(user)),
        token_(TokenOf(setup, user_)),
        keys_(absl::StrCat("bench-", shared.run_tag, "-", index, "-")),
        transfers_(credits::CreditTransferService::NewStub(channel)) {}

  // Gives the seller's organization credits to trade (an adjustment by the director).
  absl::Status Fund(int64_t hundredths) {
    if (token_.empty()) return absl::FailedPreconditionError("no token for " + user_);
    auto organization = OrganizationOf(channel_, token_, o_.call_timeout_ms);
    if (!organization.ok()) return organization.status();
    auto admin = credits::CreditAdminService::NewStub(channel_);
    credits::AdjustCreditsRequest request;
    request.set_idempotency_key(Key());
    request.set_organization_id(*organization);
    request.set_reason("bench funding");
    auto* line = request.add_lines();
    line->set_model_year(kYear);
    line->set_credit_class(credits::CREDIT_CLASS_A);
    line->mutable_amount()->set_hundredths(hundredths);
    auto context = NewContext(TokenOf(setup_, "test_gov_director"), o_.call_timeout_ms);
    credits::Journal journal;
    const grpc::Status status = admin->AdjustCredits(context.get(), request, &journal);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("funding ", user_, ": ", status.error_message()));
    }
    return absl::OkStatus();
  }

  grpc::Status Create(credits::Transfer* out) {
    credits::CreateTransferRequest request;
    request.set_idempotency_key(Key());
    request.set_to_organization_id(setup_.buyer_organization_id);
    auto* line = request.add_lines();
    line->set_model_year(kYear);
    line->set_credit_class(credits::CREDIT_CLASS_A);
    line->mutable_amount()->set_hundredths(1);
    line->set_price_per_credit_cents(100);
    auto context = NewContext(token_, o_.call_timeout_ms);
    return transfers_->CreateTransfer(context.get(), request, out);
  }

  grpc::Status Act(const std::string& user, uint64_t id, credits::TransferAction action,
                   credits::Transfer* out) {
    credits::TransitionTransferRequest request;
    request.set_idempotency_key(Key());
    request.set_transfer_id(id);
    request.set_action(action);
    auto context = NewContext(user == user_ ? token_ : TokenOf(setup_, user), o_.call_timeout_ms);
    return transfers_->TransitionTransfer(context.get(), request, out);
  }

  const std::string& user() const { return user_; }

 private:
  std::string Key() { return absl::StrCat(keys_, sequence_++); }

  const BenchOptions& o_;
  const CreditSetup& setup_;
  std::shared_ptr<grpc::Channel> channel_;
  const std::string user_;
  const std::string token_;
  const std::string keys_;
  uint64_t sequence_ = 0;
  std::unique_ptr<credits::CreditTransferService::Stub> transfers_;
};

// One call = one whole lifecycle: create, submit (seller), accept (buyer), recommend
// approval (analyst), record (director). Each caller sells from an organization of its own.
class LifecycleWorker : public Worker {
 public:
  LifecycleWorker(const BenchOptions& o, const SharedSetup& shared, const CreditSetup& setup,
                  const std::shared_ptr<grpc::Channel>& channel, int index)
      : seller_(o, shared, setup, channel, absl::StrCat("bench_spread_", 1 + index % kSellers),
                index) {}
  absl::Status Prepare() override { return seller_.Fund(10000000); }
  CallOutcome Call() override {
    credits::Transfer t;
    grpc::Status status = seller_.Create(&t);
    const uint64_t id = t.id();
    const std::pair<const char*, credits::TransferAction> steps[] = {
        {"", credits::TRANSFER_ACTION_SUBMIT},
        {"test_vs_2", credits::TRANSFER_ACTION_ACCEPT},
        {"test_gov_1", credits::TRANSFER_ACTION_RECOMMEND_APPROVAL},
        {"test_gov_director", credits::TRANSFER_ACTION_RECORD}};
    int64_t done = status.ok() ? 1 : 0;
    for (const auto& [user, action] : steps) {
      if (!status.ok()) break;
      status = seller_.Act(*user ? user : seller_.user(), id, action, &t);
      done += status.ok() ? 1 : 0;
    }
    return Outcome(status, done);
  }

 private:
  Seller seller_;
};

// Submit and rescind, again and again (a new draft after each rescind): every submit reserves
// and every rescind releases credits of the seller's account, so on one hot seller every call
// queues on the same row. One call = one RPC.
class ContentionWorker : public Worker {
 public:
  ContentionWorker(const BenchOptions& o, const SharedSetup& shared, const CreditSetup& setup,
                   const std::shared_ptr<grpc::Channel>& channel, int index, bool hot)
      : seller_(o, shared, setup, channel,
                absl::StrCat(hot ? "bench_hot_" : "bench_spread_", 1 + index % kSellers), index) {}
  absl::Status Prepare() override { return seller_.Fund(1000000); }
  CallOutcome Call() override {
    credits::Transfer t;
    grpc::Status status;
    switch (state_) {
      case State::kNone:
        status = seller_.Create(&t);
        if (status.ok()) {
          id_ = t.id();
          state_ = State::kDraft;
        }
        break;
      case State::kDraft:
        status = seller_.Act(seller_.user(), id_, credits::TRANSFER_ACTION_SUBMIT, &t);
        if (status.ok()) state_ = State::kSubmitted;
        break;
      case State::kSubmitted:
        status = seller_.Act(seller_.user(), id_, credits::TRANSFER_ACTION_RESCIND, &t);
        if (status.ok()) state_ = State::kNone;
        break;
    }
    return Outcome(status, 1);
  }

 private:
  enum class State { kNone, kDraft, kSubmitted };
  Seller seller_;
  State state_ = State::kNone;
  uint64_t id_ = 0;
};

// The credit scenarios of the reading caller alone (--token): no --tokens-file.
bool ReaderOnly(const std::string& scenario) {
  for (const char* name : {"balances", "ledger-entries", "current-user", "unread-notifications",
                           "compliance-ratios"}) {
    if (scenario == name) return true;
  }
  return false;
}

}  // namespace

bool IsCreditScenario(const std::string& scenario) {
  for (const char* name :
       {"issue-credits", "transfer-lifecycle", "contention-hot", "contention-spread"}) {
    if (scenario == name) return true;
  }
  return ReaderOnly(scenario);
}

absl::StatusOr<CreditSetup> PrepareCredits(const BenchOptions& options,
                                           const std::shared_ptr<grpc::Channel>& channel) {
  CreditSetup setup;
  if (ReaderOnly(options.scenario)) return setup;
  if (options.tokens_file.empty()) {
    return absl::InvalidArgumentError("--tokens-file is needed for " + options.scenario);
  }
  std::ifstream file(options.tokens_file);
  if (!file) return absl::NotFoundError("cannot read --tokens-file");
  for (std::string line; std::getline(file, line);) {
    std::istringstream words(line);
    std::string user, token;
    if (words >> user >> token) setup.tokens[user] = token;
  }
  for (const char* user : {"test_gov_director", "test_gov_1", "test_vs_2"}) {
    if (setup.tokens.count(user) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--tokens-file has no token for ", user));
    }
  }
  auto buyer = OrganizationOf(channel, setup.tokens["test_vs_2"], options.call_timeout_ms);
  if (!buyer.ok()) return buyer.status();
  setup.buyer_organization_id = *buyer;
  if (options.scenario == "issue-credits" &&
      (options.issue_organization_id == 0 || options.issue_vehicle_id == 0)) {
    return absl::InvalidArgumentError(
        "issue-credits needs --issue-organization-id and --issue-vehicle-id");
  }
  return setup;
}

std::unique_ptr<Worker> MakeCreditWorker(const std::string& scenario, const BenchOptions& options,
                                         const SharedSetup& shared, const CreditSetup& setup,
                                         const std::shared_ptr<grpc::Channel>& channel, int index) {
  if (scenario == "balances") return std::make_unique<BalancesWorker>(options, channel);
  if (scenario == "ledger-entries") return std::make_unique<LedgerEntriesWorker>(options, channel);
  if (scenario == "current-user") {
    return std::make_unique<EmptyRequestWorker>(
        options, EmptyRequest(credits::IdentityService::NewStub(channel),
                              &credits::IdentityService::Stub::GetCurrentUser));
  }
  if (scenario == "unread-notifications") {
    return std::make_unique<EmptyRequestWorker>(
        options, EmptyRequest(credits::NotificationService::NewStub(channel),
                              &credits::NotificationService::Stub::CountUnreadNotifications));
  }
  if (scenario == "compliance-ratios") {
    return std::make_unique<EmptyRequestWorker>(
        options, EmptyRequest(credits::ComplianceService::NewStub(channel),
                              &credits::ComplianceService::Stub::GetComplianceRatios));
  }
  if (scenario == "issue-credits") {
    return std::make_unique<IssueCreditsWorker>(options, shared, setup, channel, index);
  }
  if (scenario == "transfer-lifecycle") {
    return std::make_unique<LifecycleWorker>(options, shared, setup, channel, index);
  }
  return std::make_unique<ContentionWorker>(options, shared, setup, channel, index,
                                            scenario == "contention-hot");
}

}  // namespace zeva::bench
