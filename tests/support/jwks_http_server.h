#pragma once
// A tiny HTTP server on 127.0.0.1 that answers every request with a settable status and
// body (a JWKS) and counts requests: a stand-in for Keycloak's certs endpoint. Stop() closes
// the port (connections are refused, as with Keycloak down); Start() listens again on the
// same port.

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace zeva::testing {

class JwksHttpServer {
 public:
  explicit JwksHttpServer(std::string body = "");  // listening on a free port
  ~JwksHttpServer();
  JwksHttpServer(const JwksHttpServer&) = delete;
  JwksHttpServer& operator=(const JwksHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:PORT/certs

  void SetBody(std::string body);
  void SetStatus(int status);  // default 200
  int requests() const { return requests_.load(); }

  void Stop();
  void Start();

 private:
  void Serve(int listen_fd);
  void Answer(int fd);

  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string body_;
  int status_ = 200;
  std::thread thread_;
};

}  // namespace zeva::testing
