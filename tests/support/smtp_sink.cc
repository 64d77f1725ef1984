#include "tests/support/smtp_sink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "tests/support/loopback.h"

namespace zeva::testing {

namespace {

// Waits until `fd` is readable; false when the sink is being destroyed (or on error).
bool WaitReadable(int fd, int wake_fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  while (true) {
    const int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || fds[1].revents != 0) return false;
    return fds[0].revents != 0;
  }
}

// Reads CRLF-terminated lines (a bare LF ends one too) from a connection.
class LineReader {
 public:
  LineReader(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}
  // The next line without its line end; false at end of stream or on shutdown.
  bool Next(std::string* line) {
    while (true) {
      const size_t end = buffer_.find('\n');
      if (end != std::string::npos) {
        *line = buffer_.substr(0, end);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        buffer_.erase(0, end + 1);
        return true;
      }
      if (!WaitReadable(fd_, wake_fd_)) return false;
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  int wake_fd_;
  std::string buffer_;
};

bool Send(int fd, const std::string& reply) {
  const std::string text = reply + "\r\n";
  size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The address in "FROM:<a@b> SIZE=10" or "TO: a@b": without <> and parameters.
std::string Address(const std::string& argument) {
  std::string rest = argument.substr(argument.find(':') + 1);
  const size_t open = rest.find('<');
  if (open != std::string::npos) {
    const size_t close = rest.find('>', open);
    return rest.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
  }
  const size_t start = rest.find_first_not_of(' ');
  if (start == std::string::npos) return "";
  rest = rest.substr(start);
  return rest.substr(0, rest.find(' '));
}

}  // namespace

SmtpSink::SmtpSink() {
  listen_fd_ = ListenOnLoopback(&port_, "SmtpSink");
  if (pipe2(wake_fds_, O_CLOEXEC) != 0) {
    close(listen_fd_);
    throw std::runtime_error("SmtpSink: pipe failed");
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

SmtpSink::~SmtpSink() {
  (void)!write(wake_fds_[1], "x", 1);  // never read: stays readable for every poll
  acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    for (std::thread& connection : connections_) connection.join();
  }
  close(listen_fd_);
  close(wake_fds_[0]);
  close(wake_fds_[1]);
}

std::string SmtpSink::url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

std::vector<Mail> SmtpSink::Mails() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mails_;
}

bool SmtpSink::WaitForMails(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return mail_arrived_.wait_for(lock, timeout, [&] { return mails_.size() >= n; });
}

void SmtpSink::AcceptLoop() {
  while (WaitReadable(listen_fd_, wake_fds_[0])) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // e.g. the client gave up already
    std::lock_guard<std::mutex> lock(threads_mu_);
    connections_.emplace_back([this, fd] {
      Serve(fd);
      close(fd);
    });
  }
}

void SmtpSink::Serve(int fd) {
  LineReader reader(fd, wake_fds_[0]);
  Mail mail;
  bool in_transaction = false;  // after an accepted MAIL FROM
  auto reset = [&] {
    mail = Mail();
    in_transaction = false;
  };
  if (!Send(fd, "220 127.0.0.1 zeva-test-smtp ESMTP ready")) return;
  std::string line;
  while (reader.Next(&line)) {
    const std::string verb = Upper(line.substr(0, line.find(' ')));
    const std::string argument =
        line.find(' ') == std::string::npos ? std::string() : line.substr(line.find(' ') + 1);
    std::string reply;
    if (verb == "EHLO") {
      reset();
      reply =
          "250-127.0.0.1 greets you\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 52428800";
    } else if (verb == "HELO") {
      reset();
      reply = "250 127.0.0.1 greets you";
    } else if (verb == "AUTH") {
      ++auth_commands_;
      // Any credentials will do; the exchange only has to be well-formed.
      const std::string mechanism = Upper(argument.substr(0, argument.find(' ')));
      std::string ignored;
      if (mechanism == "PLAIN") {
        if (argument.find(' ') == std::string::npos) {
          if (!Send(fd, "334 ") || !reader.Next(&ignored)) return;
        }
        reply = "235 2.7.0 Authentication successful";
      } else if (mechanism == "LOGIN") {
        if (argument.find(' ') == std::string::npos) {
          if (!Send(fd, "334 VXNlcm5hbWU6") || !reader.Next(&ignored)) return;
        }
        if (!Send(fd, "334 UGFzc3dvcmQ6") || !reader.Next(&ignored)) return;
        reply = "235 2.7.0 Authentication successful";
      } else {
        reply = "504 5.5.4 Unrecognized authentication type";
      }
    } else if (verb == "MAIL") {
      if (Upper(argument).rfind("FROM:", 0) != 0) {
        reply = "501 5.5.4 Syntax: MAIL FROM:<address>";
      } else if (refusing_) {
        reply = "451 4.3.0 try again later";
      } else {
        reset();
        mail.from = Address(line);
        in_transaction = true;
        reply = "250 2.1.0 OK";
      }
    } else if (verb == "RCPT") {
      if (Upper(argument).rfind("TO:", 0) != 0) {
        reply = "501 5.5.4 Syntax: RCPT TO:<address>";
      } else if (!in_transaction) {
        reply = "503 5.5.1 MAIL first";
      } else {
        mail.recipients.push_back(Address(line));
        reply = "250 2.1.5 OK";
      }
    } else if (verb == "DATA") {
      if (!in_transaction || mail.recipients.empty()) {
        reply = "503 5.5.1 RCPT first";
      } else {
        if (!Send(fd, "354 End data with <CR><LF>.<CR><LF>")) return;
        std::string data_line;
        while (true) {
          if (!reader.Next(&data_line)) return;  // a mail cut short is not recorded
          if (data_line == ".") break;
          if (!data_line.empty() && data_line[0] == '.') data_line.erase(0, 1);  // dot-stuffing
          mail.data += data_line + "\r\n";
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          mails_.push_back(std::move(mail));
        }
        mail_arrived_.notify_all();
        mail = Mail();
        in_transaction = false;
        reply = "250 2.0.0 OK queued";
      }
    } else if (verb == "RSET") {
      reset();
      reply = "250 2.0.0 OK";
    } else if (verb == "NOOP") {
      reply = "250 2.0.0 OK";
    } else if (verb == "QUIT") {
      Send(fd, "221 2.0.0 Bye");
      return;
    } else {
      reply = "502 5.5.2 Command not recognized";
    }
    if (!Send(fd, reply)) return;
  }
}

}  // namespace zeva::testing
