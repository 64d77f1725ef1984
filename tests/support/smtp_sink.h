#pragma once
// A small real SMTP server on 127.0.0.1 for tests: enough of RFC 5321 for libcurl's SMTP
// client (EHLO/HELO, AUTH PLAIN/LOGIN accepting any credentials, MAIL, RCPT, DATA with
// dot-stuffing undone, RSET, NOOP, QUIT; anything else is answered 502). It offers no
// STARTTLS, like a server behind a man in the middle who strips it. One thread per
// connection; every accepted mail is recorded. SetRefusing(true) makes it answer every
// MAIL FROM with a transient failure, as a mail server that is overloaded does.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zeva::testing {

struct Mail {
  std::string from;                     // the envelope sender, without <>
  std::vector<std::string> recipients;  // the envelope recipients, without <>
  std::string data;  // what came after DATA: headers and body, lines ending in CRLF
};

class SmtpSink {
 public:
  SmtpSink();   // listens on 127.0.0.1 on a free port; throws std::runtime_error if it cannot
  ~SmtpSink();  // closes every connection and joins every thread
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const { return port_; }
  std::string url() const;  // smtp://127.0.0.1:PORT

  std::vector<Mail> Mails() const;
  // Waits until at least `n` mails were received or `timeout` passes; returns whether they
  // were.
  bool WaitForMails(size_t n, std::chrono::milliseconds timeout) const;
  // While refusing, every MAIL FROM is answered "451 4.3.0 try again later" (a transient
  // failure) and nothing is recorded.
  void SetRefusing(bool refusing) { refusing_ = refusing; }
  // AUTH commands received so far: a client that sends none never revealed a password.
  int AuthCommands() const { return auth_commands_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  int port_ = 0;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // written once on destruction: wakes every blocked thread
  std::atomic<bool> refusing_{false};
  std::atomic<int> auth_commands_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable mail_arrived_;
  std::vector<Mail> mails_;
  std::mutex threads_mu_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace zeva::testing
