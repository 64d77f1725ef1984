#pragma once
// Keeps grpc.health.v1 in step with what the service needs to answer calls: PostgreSQL
// reachable and token keys loaded. Checked every `period` on its own thread, so a server
// started before PostgreSQL reports NOT_SERVING and turns SERVING once it can work.
// Only the named services follow readiness (readiness probes, Envoy); the server-wide ""
// stays SERVING while the process runs, so that a liveness probe on it does not restart pods
// during a database outage that a restart cannot fix.

#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zeva::server {

class Readiness {
 public:
  // `check` returns true when the service is ready; it is called from the readiness thread.
  Readiness(grpc::HealthCheckServiceInterface* health, std::vector<std::string> services,
            std::function<bool()> check, std::chrono::milliseconds period);
  ~Readiness();  // stops the thread
  void Stop();

 private:
  void Loop();

  grpc::HealthCheckServiceInterface* health_;
  const std::vector<std::string> services_;
  const std::function<bool()> check_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int last_ = -1;  // -1 unknown, 0 not serving, 1 serving
  std::thread thread_;
};

}  // namespace zeva::server
