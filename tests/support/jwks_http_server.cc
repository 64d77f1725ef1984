#include "tests/support/jwks_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace zeva::testing {

JwksHttpServer::JwksHttpServer(std::string body) : body_(std::move(body)) { Start(); }

JwksHttpServer::~JwksHttpServer() { Stop(); }

std::string JwksHttpServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/certs";
}

void JwksHttpServer::SetBody(std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  body_ = std::move(body);
}

void JwksHttpServer::SetStatus(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
}

void JwksHttpServer::Start() {
  if (thread_.joinable()) return;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));  // 0 the first time: any free port
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port_));
  }
  port_ = ntohs(addr.sin_port);
  stopping_ = false;
  thread_ = std::thread([this, fd] { Serve(fd); });
}

void JwksHttpServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void JwksHttpServer::Serve(int listen_fd) {
  while (!stopping_) {
    pollfd p{listen_fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;  // a short poll, so that Stop is prompt
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Answer(fd);
    close(fd);
  }
  close(listen_fd);
}

void JwksHttpServer::Answer(int fd) {
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  ++requests_;
  std::string body;
  int status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    body = body_;
    status = status_;
  }
  std::string response =
      "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace zeva::testing
