#include "services/call_gate.h"

namespace zeva::services {

bool CallGate::Enter() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return false;
  ++in_flight_;
  return true;
}

void CallGate::Leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
  }
  idle_.notify_all();
}

int CallGate::CloseAndWait(std::chrono::system_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  closed_ = true;
  idle_.wait_until(lock, deadline, [this] { return in_flight_ == 0; });
  return in_flight_;
}

}  // namespace zeva::services
