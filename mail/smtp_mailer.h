#pragma once
// Sends notification e-mails over SMTP with libcurl. One curl handle, reused so that
// consecutive mails share the mail server connection. Not thread-safe: one per thread.

#include <chrono>
#include <string>

#include "absl/status/status.h"

namespace zeva::mail {

struct SmtpOptions {
  std::string url;   // smtp://[USER:PASSWORD@]HOST[:PORT] or smtps://
  std::string from;  // "Name <address>" or "address"
  std::chrono::milliseconds timeout{10000};
};

struct Email {
  std::string to;          // address
  std::string subject;     // one line
  std::string text;        // plain-text body
  std::string message_id;  // Message-ID header value without <>: repeated sends carry the same
};

// The RFC 5322 message (headers and CRLF body, dot-safe lines left to libcurl). Pure.
std::string FormatEmail(const std::string& from, const Email& email, const std::string& date);
// The address part of "Name <address>" (or the text itself).
std::string EnvelopeAddress(const std::string& from);
// Whether the SMTP URL carries a user or password: then TLS is required, so that a man in
// the middle who strips STARTTLS never sees the password. An unparsable URL counts as having
// credentials (the safe side).
bool HasCredentials(const std::string& url);

class SmtpMailer {
 public:
  explicit SmtpMailer(SmtpOptions options);
  ~SmtpMailer();
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  // OK once the server accepted the message. UNAVAILABLE when the server cannot be reached,
  // refuses for now (4xx), or (with credentials) offers no STARTTLS; INVALID_ARGUMENT when
  // it refuses the recipient for good (5xx).
  absl::Status Send(const Email& email);

 private:
  const SmtpOptions options_;
  const bool require_tls_;
  void* curl_;  // CURL*
};

}  // namespace zeva::mail
