#pragma once
// Counts the contract calls in flight and, once closed for shutdown, turns new ones away.
// gRPC's own Server::Shutdown refuses new calls with CANCELLED, which neither Envoy nor a
// client treats as "retry elsewhere"; closing this gate first makes them UNAVAILABLE while
// the calls already running finish.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace zeva::services {

class CallGate {
 public:
  // False once the gate is closed: the call must be refused. Every true needs a Leave().
  bool Enter();
  void Leave();
  // Closes the gate and waits until no call is in flight or `deadline` passes; returns the
  // number of calls still running.
  int CloseAndWait(std::chrono::system_clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  bool closed_ = false;
  int in_flight_ = 0;
};

}  // namespace zeva::services
