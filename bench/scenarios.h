#pragma once
// What one caller does per call, for each scenario. A Worker belongs to one caller thread.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/bench_options.h"

namespace zeva::bench {

struct CallOutcome {
  grpc::StatusCode code = grpc::StatusCode::OK;
  int64_t rows = 0;     // messages streamed back (1 for a unary call)
  std::string message;  // the status message when not OK
};

// A fresh context per call (gRPC requires it), carrying the token (if any) and the deadline.
std::unique_ptr<grpc::ClientContext> NewContext(const std::string& token, int timeout_ms);
// The outcome of a finished call: its code, and `rows` when it succeeded.
CallOutcome Outcome(const grpc::Status& status, int64_t rows);

class Worker {
 public:
  virtual ~Worker() = default;
  // Unmeasured set-up, e.g. the model an update caller keeps updating.
  virtual absl::Status Prepare() { return absl::OkStatus(); }
  virtual CallOutcome Call() = 0;
};

// Found once before the callers start.
struct SharedSetup {
  uint64_t model_id = 0;  // a model the reading caller may see (model-details)
  std::string run_tag;    // distinct per run: keeps created models unique across runs
};

absl::StatusOr<SharedSetup> PrepareShared(const BenchOptions& options,
                                          const std::shared_ptr<grpc::Channel>& channel);

std::unique_ptr<Worker> MakeWorker(const std::string& scenario, const BenchOptions& options,
                                   const SharedSetup& shared,
                                   const std::shared_ptr<grpc::Channel>& channel, int index);

// Polls grpc.health.v1.Health/Check for the contract service until SERVING.
absl::Status WaitUntilServing(const std::shared_ptr<grpc::Channel>& channel, int timeout_ms);

}  // namespace zeva::bench
