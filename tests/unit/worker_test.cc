// zeva-worker's pure parts: configuration, the retry back-off, the messages an event becomes
// on RabbitMQ, and the e-mail it becomes.

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "broker/outbox_messages.h"
#include "config/worker_config.h"
#include "domain/outbox_event.h"
#include "mail/smtp_mailer.h"
#include "tests/support/fake_env.h"
#include "worker/mail_lane.h"

using namespace std::chrono_literals;

using zeva::testing::FakeEnv;

namespace {

const std::map<std::string, std::string> kMinimalEnv = {
    {"DATABASE_URL", "postgresql://zeva:zevadev@postgres/zeva"},
    {"RABBITMQ_URL", "amqp://zeva:secret@rabbitmq:5672/"},
};

zeva::domain::OutboxEvent SampleEvent() {
  zeva::domain::OutboxEvent e;
  e.id = "0b7e6f0e-2f63-4b7c-9a55-4c1a0c3a9d11";
  e.event_type = "credits.transfer.recorded";
  e.occurred_at = "2026-11-25T10:00:00.000000Z";
  e.actor = "test_gov_director";
  e.transfer_id = 7;
  e.journal_id = 12;
  e.organization_ids = {3, 4};
  e.recipients = {"test_vs_1", "test_vs_2"};
  return e;
}

}  // namespace

TEST_CASE("worker configuration: required URLs, defaults and checks", "[worker_config]") {
  using zeva::config::ParseWorkerConfig;
  auto parsed = ParseWorkerConfig({}, FakeEnv(kMinimalEnv));
  REQUIRE(parsed.ok());
  const auto& c = parsed->config;
  CHECK(c.rabbitmq_url == "amqp://zeva:secret@rabbitmq:5672/");
  CHECK(c.smtp_url.empty());
  CHECK(c.health_port == 10103);
  CHECK(c.metrics_port == 9103);
  CHECK(c.publish_batch_size == 100);
  CHECK(c.retention_hours == 168);

  auto env = kMinimalEnv;
  env["SMTP_URL"] = "smtp://mail:1025";
  env["OUTBOX_BATCH_SIZE"] = "7";
  env["RETRY_MAX_MS"] = "2000";
  parsed = ParseWorkerConfig({"--outbox-batch-size=9"}, FakeEnv(env));
  REQUIRE(parsed.ok());
  CHECK(parsed->config.smtp_url == "smtp://mail:1025");
  CHECK(parsed->config.publish_batch_size == 9);  // the flag beats the environment
  CHECK(parsed->config.retry_max_ms == 2000);

  for (const char* missing : {"DATABASE_URL", "RABBITMQ_URL"}) {
    auto without = kMinimalEnv;
    without.erase(missing);
    auto refused = ParseWorkerConfig({}, FakeEnv(without));
    REQUIRE_FALSE(refused.ok());
    CHECK(std::string(refused.status().message()).find(missing) != std::string::npos);
  }
  auto bad = kMinimalEnv;
  bad["RABBITMQ_URL"] = "http://rabbitmq";
  CHECK_FALSE(ParseWorkerConfig({}, FakeEnv(bad)).ok());
  bad = kMinimalEnv;
  bad["SMTP_URL"] = "mail:25";
  CHECK_FALSE(ParseWorkerConfig({}, FakeEnv(bad)).ok());
  CHECK(c.max_attempts == 25);
  CHECK_FALSE(c.mail_disabled);
  auto quiet = kMinimalEnv;
  quiet["MAIL_DISABLED"] = "true";
  quiet["OUTBOX_MAX_ATTEMPTS"] = "3";
  parsed = ParseWorkerConfig({}, FakeEnv(quiet));
  REQUIRE(parsed.ok());
  CHECK(parsed->config.mail_disabled);
  CHECK(parsed->config.max_attempts == 3);
  // Mail both disabled and configured is a contradiction, refused at start.
  bad = quiet;
  bad["SMTP_URL"] = "smtp://mail:1025";
  CHECK_FALSE(ParseWorkerConfig({}, FakeEnv(bad)).ok());
  bad = kMinimalEnv;
  bad["OUTBOX_MAX_ATTEMPTS"] = "0";
  CHECK_FALSE(ParseWorkerConfig({}, FakeEnv(bad)).ok());
  bad = kMinimalEnv;
  bad["RETRY_INITIAL_MS"] = "5000";
  bad["RETRY_MAX_MS"] = "1000";
  CHECK_FALSE(ParseWorkerConfig({}, FakeEnv(bad)).ok());
  // A lease shorter than a publish could take would let a second worker take events still in
  // flight.
  bad = kMinimalEnv;
  bad["OUTBOX_CLAIM_LEASE_MS"] = "5000";
  CHECK_FALSE(ParseWorkerConfig({}, FakeEnv(bad)).ok());
}

TEST_CASE("worker --help lists every variable and never a secret's value", "[worker_config]") {
  const std::string help = zeva::config::WorkerHelp();
  for (const char* name :
       {"DATABASE_URL", "RABBITMQ_URL", "SMTP_URL", "SMTP_FROM", "OUTBOX_BATCH_SIZE",
        "MAIL_BATCH_SIZE", "OUTBOX_POLL_INTERVAL_MS", "OUTBOX_CLAIM_LEASE_MS", "RETRY_INITIAL_MS",
        "RETRY_MAX_MS", "BROKER_CONFIRM_TIMEOUT_MS", "SMTP_TIMEOUT_MS", "OUTBOX_RETENTION_HOURS",
        "OUTBOX_PRUNE_INTERVAL_SECONDS", "HEALTH_PORT", "METRICS_PORT", "SHUTDOWN_GRACE_SECONDS",
        "MAIL_DISABLED", "OUTBOX_MAX_ATTEMPTS"}) {
    INFO(name);
    CHECK(help.find(name) != std::string::npos);
  }
  auto parsed = zeva::config::ParseWorkerConfig({"--help"}, FakeEnv(kMinimalEnv));
  REQUIRE(parsed.ok());
  CHECK(parsed->help_requested);
  CHECK(help.find("secret") == std::string::npos);
}

TEST_CASE("retry delays double from the initial delay up to the maximum", "[worker_config]") {
  using zeva::domain::RetryDelay;
  CHECK(RetryDelay(1, 500ms, 60s) == 500ms);
  CHECK(RetryDelay(2, 500ms, 60s) == 1000ms);
  CHECK(RetryDelay(4, 500ms, 60s) == 4000ms);
  CHECK(RetryDelay(8, 500ms, 60s) == 60s);
  CHECK(RetryDelay(1000000, 500ms, 60s) == 60s);  // no overflow however many failures
  CHECK(RetryDelay(0, 500ms, 60s) == 500ms);
  CHECK(RetryDelay(3, 5s, 1s) == 1s);  // never above the maximum
}

TEST_CASE("an event becomes one zeva.events message and one notification per recipient",
          "[worker_config]") {
  const auto messages = zeva::broker::MessagesOf(SampleEvent());
  REQUIRE(messages.size() == 3);
  CHECK(messages[0].exchange == "zeva.events");
  CHECK(messages[0].routing_key == "credits.transfer.recorded");
  CHECK(messages[0].message_id == SampleEvent().id);
  CHECK(messages[1].message_id != messages[2].message_id);
  const auto body = nlohmann::json::parse(messages[0].body);
  CHECK(body["event_id"] == SampleEvent().id);
  CHECK(body["event_type"] == "credits.transfer.recorded");
  CHECK(body["occurred_at"] == "2026-11-25T10:00:00.000000Z");
  CHECK(body["actor"] == "test_gov_director");
  CHECK(body["transfer_id"] == 7);
  CHECK(body["journal_id"] == 12);  // RECORD names its journal
  CHECK(body["organization_ids"] == nlohmann::json::array({3, 4}));
  CHECK(body["recipients"] == nlohmann::json::array({"test_vs_1", "test_vs_2"}));
  for (size_t i = 1; i < messages.size(); ++i) {
    CHECK(messages[i].exchange == "notifications");
    CHECK(messages[i].routing_key.empty());
    // Distinct per recipient: a consumer deduplicating by message_id keeps every one.
    CHECK(messages[i].message_id == SampleEvent().id + "." + SampleEvent().recipients[i - 1]);
    CHECK(messages[i].event_id == SampleEvent().id);
    CHECK(nlohmann::json::parse(messages[i].body) ==
          nlohmann::json{{"type", "notification"}, {"audience", SampleEvent().recipients[i - 1]}});
  }
  auto journal = SampleEvent();
  journal.event_type = "credits.journal.issuance";
  journal.transfer_id = 0;
  const auto issuance = nlohmann::json::parse(zeva::broker::MessagesOf(journal)[0].body);
  CHECK_FALSE(issuance.contains("transfer_id"));
  CHECK(issuance["journal_id"] == 12);
  CHECK_FALSE(issuance.contains("icbc_import_id"));
  auto import = SampleEvent();
  import.event_type = "icbc.import.completed";
  import.transfer_id = 0;
  import.journal_id = 0;
  import.icbc_import_id = 5;
  const auto finished = nlohmann::json::parse(zeva::broker::MessagesOf(import)[0].body);
  CHECK(finished["icbc_import_id"] == 5);
  CHECK_FALSE(finished.contains("transfer_id"));
  // Stored text that is not UTF-8 must not make the worker throw.
  auto odd = SampleEvent();
  odd.recipients = {std::string("bad\xff")};
  CHECK(zeva::broker::MessagesOf(odd).size() == 2);
}

TEST_CASE("notification e-mails: headers cannot be injected, ids are stable", "[worker_config]") {
  zeva::db::MailRecipient to{SampleEvent().id, "test_vs_1", "test_vs_1@example.test",
                             "Transfer 7 was recorded.\r\nBcc: everyone@example.test"};
  const zeva::mail::Email email = zeva::worker::NotificationEmail(SampleEvent(), to);
  CHECK(email.to == "test_vs_1@example.test");
  CHECK(email.message_id == SampleEvent().id + ".test_vs_1@zeva");
  const std::string text =
      zeva::mail::FormatEmail("ZEVA <zeva@localhost>", email, "Wed, 25 Nov 2026 10:00:00 +0000");
  const std::string headers = text.substr(0, text.find("\r\n\r\n"));
  CHECK(headers.find("\r\nBcc:") == std::string::npos);
  CHECK(headers.find("Subject: ZEVA: Transfer 7 was recorded.  Bcc: everyone@example.test") !=
        std::string::npos);
  CHECK(headers.find("Message-ID: <" + email.message_id + ">") != std::string::npos);
  CHECK(headers.find("From: ZEVA <zeva@localhost>") != std::string::npos);
  CHECK(zeva::mail::EnvelopeAddress("ZEVA <zeva@localhost>") == "zeva@localhost");
  CHECK(zeva::mail::EnvelopeAddress("zeva@localhost") == "zeva@localhost");
}

TEST_CASE("TLS is required exactly when the SMTP URL holds credentials", "[worker_config]") {
  using zeva::mail::HasCredentials;
  CHECK_FALSE(HasCredentials("smtp://mail:1025"));
  CHECK_FALSE(HasCredentials("smtp://mail.example.org"));
  CHECK(HasCredentials("smtp://user:secret@mail:587"));
  CHECK(HasCredentials("smtp://user@mail:587"));
  CHECK(HasCredentials("smtps://user:secret@mail"));
  CHECK(HasCredentials("smtp://:secret@mail:587"));
  // What cannot be parsed is treated as holding a password.
  CHECK(HasCredentials("smtp://user:secret@[::1:25"));
}
