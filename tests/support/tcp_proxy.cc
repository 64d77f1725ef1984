#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "tests/support/loopback.h"

namespace zeva::testing {

namespace {

// Polls `fd` for `events` for at most 100 ms (so that the loops see stop and freeze flags).
bool Ready(int fd, short events) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, 100) > 0;
}

// A classic BPF program that accepts nothing: the kernel drops every segment that arrives on
// the socket before TCP sees it, so nothing is acknowledged.
void DropEverythingArriving(int fd) {
  static sock_filter drop[] = {{BPF_RET | BPF_K, 0, 0, 0}};
  sock_fprog program{1, drop};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) {
    throw std::runtime_error("SO_ATTACH_FILTER failed: errno " + std::to_string(errno));
  }
}

}  // namespace

// One proxied connection: the client's socket, the target's, and a thread per direction.
struct TcpProxy::Link {
  int client = -1;
  int target = -1;
  std::atomic<bool> frozen{false};
  std::atomic<bool> closed{false};
  std::thread up;
  std::thread down;

  // Copies from `from` to `to` until either side closes, the link is frozen or the proxy stops.
  void Pump(int from, int to, const std::atomic<bool>& stopping) {
    char buffer[16384];
    while (!stopping && !closed) {
      if (frozen) {
        poll(nullptr, 0, 100);  // nothing is read or written again
        continue;
      }
      if (!Ready(from, POLLIN) || frozen) continue;  // frozen meanwhile: leave it unread
      const ssize_t got = read(from, buffer, sizeof buffer);
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        break;
      }
      bool written = true;
      for (ssize_t sent = 0; sent < got && !frozen && written;) {
        const ssize_t n = send(to, buffer + sent, static_cast<size_t>(got - sent), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        written = n > 0;
        if (written) sent += n;
      }
      if (!written) break;
    }
    // One side closed (or failed): so does the other, unless frozen (then nothing is said).
    if (frozen || stopping) return;
    closed = true;
    shutdown(from, SHUT_RDWR);
    shutdown(to, SHUT_RDWR);
  }
};

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listener_ = ListenOnLoopback(&port_, "TcpProxy");
  acceptor_ = std::thread([this] { Accept(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  acceptor_.join();
  close(listener_);
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& link : links_) {
    link->up.join();
    link->down.join();
    close(link->client);
    close(link->target);
  }
}

void TcpProxy::Accept() {
  while (!stopping_) {
    if (!Ready(listener_, POLLIN)) continue;
    const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int target = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(target_port_.load()));
    if (target < 0 || connect(target, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      if (target >= 0) close(target);
      close(client);  // the target refused: so does the proxy
      continue;
    }
    auto link = std::make_shared<Link>();
    link->client = client;
    link->target = target;
    Link* raw = link.get();
    link->up = std::thread([this, raw] { raw->Pump(raw->client, raw->target, stopping_); });
    link->down = std::thread([this, raw] { raw->Pump(raw->target, raw->client, stopping_); });
    ++accepted_;
    std::lock_guard<std::mutex> lock(mutex_);
    links_.push_back(std::move(link));
  }
}

int TcpProxy::FreezeOpenConnections() {
  std::lock_guard<std::mutex> lock(mutex_);
  int frozen = 0;
  for (auto& link : links_) {
    if (link->closed || link->frozen) continue;
    link->frozen = true;
    DropEverythingArriving(link->client);
    DropEverythingArriving(link->target);
    ++frozen;
  }
  return frozen;
}

}  // namespace zeva::testing
