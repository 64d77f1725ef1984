// The single Catch2 main shared by the test binaries.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "absl/synchronization/mutex.h"

int main(int argc, char* argv[]) {
  // As in every binary of the project (server/main.cc): Debian builds Abseil without NDEBUG,
  // so each absl::Mutex (gRPC's clients' included) would update a lock-order graph behind a
  // lock of Abseil's own, which TSan cannot see (Abseil is not instrumented) and reports as
  // races inside the graph. Off before any thread starts.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Catch::Session().run(argc, argv);
}
