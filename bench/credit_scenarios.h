#pragma once
// The credit API's scenarios (zeva.credits.v1): balances and ledger reads, issuance, whole
// transfer lifecycles, and the contention pair (submit/rescind against one hot seller, or
// the same load spread over one seller per caller), whose users come from --tokens-file; and
// one call with an empty request of the identity, notification and compliance services
// (current-user, unread-notifications, compliance-ratios) by the reading caller.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/scenarios.h"

namespace zeva::bench {

bool IsCreditScenario(const std::string& scenario);

// The users' tokens by username, and the organizations the scenarios need.
struct CreditSetup {
  std::map<std::string, std::string> tokens;
  uint64_t buyer_organization_id = 0;  // test_vs_2's
};

absl::StatusOr<CreditSetup> PrepareCredits(const BenchOptions& options,
                                           const std::shared_ptr<grpc::Channel>& channel);

std::unique_ptr<Worker> MakeCreditWorker(const std::string& scenario, const BenchOptions& options,
                                         const SharedSetup& shared, const CreditSetup& credits,
                                         const std::shared_ptr<grpc::Channel>& channel, int index);

}  // namespace zeva::bench
