#pragma once
// A listening TCP socket on 127.0.0.1 for the tests' small servers (SMTP sink, proxy).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace zeva::testing {

// Listens on a free port of 127.0.0.1 (close-on-exec: the test's child processes must not keep
// it); returns the socket and sets `*port`. Throws, naming `who`, when it cannot.
inline int ListenOnLoopback(int* port, const std::string& who) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(fd, 64) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    if (fd >= 0) close(fd);
    throw std::runtime_error(who + ": cannot listen on 127.0.0.1: " + strerror(error));
  }
  *port = ntohs(address.sin_port);
  return fd;
}

}  // namespace zeva::testing
