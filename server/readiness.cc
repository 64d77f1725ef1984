#include "server/readiness.h"

#include "spdlog/spdlog.h"

namespace zeva::server {

Readiness::Readiness(grpc::HealthCheckServiceInterface* health, std::vector<std::string> services,
                     std::function<bool()> check, std::chrono::milliseconds period)
    : health_(health), services_(std::move(services)), check_(std::move(check)), period_(period) {
  thread_ = std::thread([this] { Loop(); });
}

Readiness::~Readiness() { Stop(); }

void Readiness::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Readiness::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const bool ready = check_();
    lock.lock();
    if (stopping_) break;
    if (static_cast<int>(ready) != last_) {
      if (ready) {
        spdlog::info("ready: database reachable and token keys loaded; health SERVING");
      } else {
        spdlog::warn("not ready (database unreachable or no token keys); health NOT_SERVING");
      }
      for (const auto& name : services_) health_->SetServingStatus(name, ready);
      last_ = ready;
    }
    wake_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

}  // namespace zeva::server
