#pragma once
// A transfer load for the outbox benchmark's latency and fault runs: sellers (bench_spread_N)
// creating, submitting and rescinding transfers to test_vs_2 in a closed loop, counted by gRPC
// code. Users come from a tokens file ("USERNAME TOKEN" per line).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace zeva::bench {

std::map<std::string, std::string> ReadTokens(const std::string& path);

// Calls by gRPC code name; thread-safe.
struct Tally {
  std::mutex mutex;
  std::map<std::string, int64_t> by_code;
  void Add(grpc::StatusCode code);
};

// One seller's loop until `until`: create, submit, rescind, again; after a failure it starts
// over with a new transfer (the failed one's state is unknown to it). `keys` prefixes its
// idempotency keys.
void SellerLoop(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                uint64_t buyer, const std::string& keys,
                std::chrono::steady_clock::time_point until, Tally* tally);

// The caller's organization (IdentityService); throws std::runtime_error on failure.
uint64_t OrganizationOf(const std::shared_ptr<grpc::Channel>& channel, const std::string& token);

// Gives `organization` 10,000.00 credits (an adjustment by the director); throws on failure.
void Fund(const std::shared_ptr<grpc::Channel>& channel, const std::string& director,
          uint64_t organization, const std::string& key);

}  // namespace zeva::bench
