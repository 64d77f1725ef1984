#include "bench/transfer_load.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/load_runner.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::bench {
namespace {
namespace credits = ::zeva::credits::v1;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
}  // namespace

void Tally::Add(grpc::StatusCode code) {
  std::lock_guard<std::mutex> lock(mutex);
  ++by_code[CodeName(code)];
}

std::map<std::string, std::string> ReadTokens(const std::string& path) {
  std::map<std::string, std::string> tokens;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    std::istringstream words(line);
    std::string user, token;
    if (words >> user >> token) tokens[user] = token;
  }
  return tokens;
}

void SellerLoop(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                uint64_t buyer, const std::string& keys, Clock::time_point until, Tally* tally) {
  auto stub = credits::CreditTransferService::NewStub(channel);
  uint64_t sequence = 0;
  auto context = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->AddMetadata("authorization", "Bearer " + token);
    c->set_deadline(std::chrono::system_clock::now() + 10s);
    return c;
  };
  while (Clock::now() < until) {
    credits::CreateTransferRequest create;
    create.set_idempotency_key(absl::StrCat(keys, sequence++));
    create.set_to_organization_id(buyer);
    auto* line = create.add_lines();
    line->set_model_year(2021);
    line->set_credit_class(credits::CREDIT_CLASS_A);
    line->mutable_amount()->set_hundredths(1);
    credits::Transfer t;
    grpc::Status status = stub->CreateTransfer(context().get(), create, &t);
    tally->Add(status.error_code());
    for (auto action : {credits::TRANSFER_ACTION_SUBMIT, credits::TRANSFER_ACTION_RESCIND}) {
      if (!status.ok() || Clock::now() >= until) break;
      credits::TransitionTransferRequest request;
      request.set_idempotency_key(absl::StrCat(keys, sequence++));
      request.set_transfer_id(t.id());
      request.set_action(action);
      status = stub->TransitionTransfer(context().get(), request, &t);
      tally->Add(status.error_code());
    }
    if (!status.ok()) std::this_thread::sleep_for(50ms);  // an outage: no tight loop
  }
}

uint64_t OrganizationOf(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  auto stub = credits::IdentityService::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  credits::CurrentUser user;
  const grpc::Status status = stub->GetCurrentUser(&context, {}, &user);
  if (!status.ok()) throw std::runtime_error("GetCurrentUser: " + status.error_message());
  return user.organization().id();
}

void Fund(const std::shared_ptr<grpc::Channel>& channel, const std::string& director,
          uint64_t organization, const std::string& key) {
  auto stub = credits::CreditAdminService::NewStub(channel);
  credits::AdjustCreditsRequest request;
  request.set_idempotency_key(key);
  request.set_organization_id(organization);
  request.set_reason("fault run funding");
  auto* line = request.add_lines();
  line->set_model_year(2021);
  line->set_credit_class(credits::CREDIT_CLASS_A);
  line->mutable_amount()->set_hundredths(1000000);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + director);
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  credits::Journal journal;
  const grpc::Status status = stub->AdjustCredits(&context, request, &journal);
  if (!status.ok()) throw std::runtime_error("funding: " + status.error_message());
}

}  // namespace zeva::bench
