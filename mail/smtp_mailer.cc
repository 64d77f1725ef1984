#include "mail/smtp_mailer.h"

#include <curl/curl.h>

#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace zeva::mail {
namespace {

// Header values come from stored text: no line break may start a header of its own.
std::string OneLine(const std::string& text) {
  return absl::StrReplaceAll(text, {{"\r", " "}, {"\n", " "}});
}

std::string RfcDateNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buffer;
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadPayload(char* out, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t room = size * count;
  const size_t left = upload->data->size() - upload->offset;
  const size_t n = left < room ? left : room;
  std::memcpy(out, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

}  // namespace

std::string EnvelopeAddress(const std::string& from) {
  const auto open = from.find('<');
  const auto close = from.find('>', open == std::string::npos ? 0 : open);
  if (open != std::string::npos && close != std::string::npos) {
    return from.substr(open + 1, close - open - 1);
  }
  return from;
}

std::string FormatEmail(const std::string& from, const Email& email, const std::string& date) {
  std::string text = absl::StrReplaceAll(email.text, {{"\r\n", "\n"}});
  text = absl::StrReplaceAll(text, {{"\n", "\r\n"}});
  return absl::StrCat("Date: ", date, "\r\n", "From: ", OneLine(from), "\r\n", "To: <",
                      OneLine(email.to), ">\r\n", "Message-ID: <", OneLine(email.message_id),
                      ">\r\n", "Subject: ", OneLine(email.subject), "\r\n", "MIME-Version: 1.0\r\n",
                      "Content-Type: text/plain; charset=utf-8\r\n",
                      "Content-Transfer-Encoding: 8bit\r\n", "Auto-Submitted: auto-generated\r\n",
                      "\r\n", text, "\r\n");
}

bool HasCredentials(const std::string& url) {
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return true;
  bool credentials = true;
  if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    credentials = false;
    for (CURLUPart part : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS}) {
      char* value = nullptr;
      if (curl_url_get(parsed, part, &value, 0) == CURLUE_OK) {
        credentials = credentials || (value != nullptr && *value != '\0');
        curl_free(value);
      }
    }
  }
  curl_url_cleanup(parsed);
  return credentials;
}

SmtpMailer::SmtpMailer(SmtpOptions options)
    : options_(std::move(options)),
      require_tls_(HasCredentials(options_.url)),
      curl_(curl_easy_init()) {}

SmtpMailer::~SmtpMailer() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

absl::Status SmtpMailer::Send(const Email& email) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string payload = FormatEmail(options_.from, email, RfcDateNow());
  Upload upload{&payload};
  const std::string from = "<" + EnvelopeAddress(options_.from) + ">";
  const std::string to = "<" + email.to + ">";
  curl_slist* recipients = curl_slist_append(nullptr, to.c_str());

  // Options are set again on every send: the handle (and its connection) is reused.
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadPayload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // smtps:// is TLS from the start. On smtp://, STARTTLS: required when the URL holds a
  // password (CURLUSESSL_TRY would let a man in the middle strip the offer and read it),
  // used when offered otherwise.
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   static_cast<long>(require_tls_ ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(recipients);
  if (rc == CURLE_OK) return absl::OkStatus();
  if (rc == CURLE_USE_SSL_FAILED) {
    return absl::UnavailableError(
        "mail not sent: the mail server offers no STARTTLS, and SMTP_URL holds credentials, "
        "which are never sent without TLS; the mail waits for a server that offers it");
  }

  long response = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response);
  // The URL may hold credentials: the message names neither it nor the recipient's address.
  const std::string detail = absl::StrCat(curl_easy_strerror(rc), " (SMTP ", response, ")");
  if (response >= 500 && response < 600 && rc == CURLE_SEND_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat("mail refused: ", detail));
  }
  return absl::UnavailableError(absl::StrCat("mail not sent: ", detail));
}

}  // namespace zeva::mail
