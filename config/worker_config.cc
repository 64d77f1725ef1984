#include "config/worker_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zeva::config {
namespace {

OptionSet WorkerOptions(WorkerConfig* c) {
  // Defaults live once, in the struct's initialisers; the table shows and applies them.
  const WorkerConfig d;
  OptionSet options(
      "zeva-worker: delivers the transactional outbox of the ZEVA transaction service to\n"
      "RabbitMQ (exchanges zeva.events and notifications) and by e-mail, at least once.\n"
      "Any number of replicas may run against one database.\n"
      "Usage: zeva-worker [options]");
  options.AddSecret("database-url", "DATABASE_URL",
                    "PostgreSQL URL, postgresql://USER:PASSWORD@HOST[:PORT]/DB. Required.",
                    &c->database_url);
  options.AddSecret("rabbitmq-url", "RABBITMQ_URL",
                    "RabbitMQ URL, amqp://USER:PASSWORD@HOST[:PORT]/[VHOST]. Required.",
                    &c->rabbitmq_url);
  options.AddSecret("smtp-url", "SMTP_URL",
                    "Mail server, smtp://[USER:PASSWORD@]HOST[:PORT] (or smtps://). With a user "
                    "and password, TLS is required (STARTTLS on smtp://): a server that does not "
                    "offer it never gets the password, and the mail waits. Unset: this replica "
                    "sends no e-mail and leaves it to replicas that have SMTP_URL.",
                    &c->smtp_url);
  options.AddBool("mail-disabled", "MAIL_DISABLED", d.mail_disabled,
                  "The deployment sends no e-mail at all: events count as mailed once published "
                  "(without it, a replica lacking SMTP_URL never marks e-mail done, so that a "
                  "rolling deploy loses no mail). Not together with SMTP_URL.",
                  &c->mail_disabled);
  options.AddString("smtp-from", "SMTP_FROM", d.smtp_from, "Sender of notification e-mails.",
                    &c->smtp_from);
  options.AddChoice("log-level", "LOG_LEVEL", d.log_level,
                    {"trace", "debug", "info", "warn", "error", "critical", "off"},
                    "Minimum level of log lines.", &c->log_level);
  options.AddChoice("log-format", "LOG_FORMAT", d.log_format, {"plain", "json"},
                    "Plain text or one JSON object per line.", &c->log_format);
  options.AddInt("outbox-batch-size", "OUTBOX_BATCH_SIZE", d.publish_batch_size, 1, 10000,
                 "Events claimed at once for RabbitMQ (published, then confirmed together).",
                 &c->publish_batch_size);
  options.AddInt("mail-batch-size", "MAIL_BATCH_SIZE", d.mail_batch_size, 1, 10000,
                 "Events claimed at once for e-mail.", &c->mail_batch_size);
  options.AddInt("outbox-poll-interval-ms", "OUTBOX_POLL_INTERVAL_MS", d.poll_interval_ms, 10,
                 3600000,
                 "Workers wake on PostgreSQL's NOTIFY at once; they also look this often, in case "
                 "a notification was missed (e.g. while reconnecting).",
                 &c->poll_interval_ms);
  options.AddInt("outbox-claim-lease-ms", "OUTBOX_CLAIM_LEASE_MS", d.claim_lease_ms, 1000, 86400000,
                 "A claimed event is left to its worker this long; if that worker dies, another "
                 "takes the event after it. Must exceed the broker's confirm timeout.",
                 &c->claim_lease_ms);
  options.AddInt("retry-initial-ms", "RETRY_INITIAL_MS", d.retry_initial_ms, 1, 3600000,
                 "Delay before an event is tried again after its first failed delivery; it "
                 "doubles with each failure.",
                 &c->retry_initial_ms);
  options.AddInt("retry-max-ms", "RETRY_MAX_MS", d.retry_max_ms, 1, 86400000,
                 "Longest delay between two delivery attempts of an event (and between two "
                 "attempts to reach the broker or the mail server).",
                 &c->retry_max_ms);
  options.AddInt("outbox-max-attempts", "OUTBOX_MAX_ATTEMPTS", d.max_attempts, 1, 1000,
                 "Delivery attempts of an event on one channel (RabbitMQ or e-mail) before it is "
                 "dead-lettered there: no longer tried, counted in "
                 "zeva_outbox_dead_letters_total and logged. An event that cannot be decoded is "
                 "dead-lettered at once.",
                 &c->max_attempts);
  options.AddInt(
      "broker-connect-timeout-ms", "BROKER_CONNECT_TIMEOUT_MS", d.broker_connect_timeout_ms, 100,
      600000, "Timeout of connecting and logging in to RabbitMQ.", &c->broker_connect_timeout_ms);
  options.AddInt("broker-confirm-timeout-ms", "BROKER_CONFIRM_TIMEOUT_MS",
                 d.broker_confirm_timeout_ms, 100, 600000,
                 "How long a published batch may wait for the broker's confirms before it "
                 "counts as failed (and is retried).",
                 &c->broker_confirm_timeout_ms);
  options.AddInt("broker-heartbeat-seconds", "BROKER_HEARTBEAT_SECONDS", d.broker_heartbeat_seconds,
                 0, 3600, "AMQP heartbeat; 0 turns it off.", &c->broker_heartbeat_seconds);
  options.AddInt("smtp-timeout-ms", "SMTP_TIMEOUT_MS", d.smtp_timeout_ms, 100, 600000,
                 "Timeout of sending one e-mail.", &c->smtp_timeout_ms);
  options.AddInt("outbox-retention-hours", "OUTBOX_RETENTION_HOURS", d.retention_hours, 1, 87600,
                 "Delivered events are deleted this long after delivery.", &c->retention_hours);
  options.AddInt("outbox-prune-interval-seconds", "OUTBOX_PRUNE_INTERVAL_SECONDS",
                 d.prune_interval_seconds, 1, 86400, "How often delivered events are pruned.",
                 &c->prune_interval_seconds);
  options.AddInt("db-pool-size", "DB_POOL_SIZE", d.db_pool_size, 2, 100,
                 "Connections to PostgreSQL (besides the one that LISTENs).", &c->db_pool_size);
  options.AddInt(
      "db-connect-timeout-seconds", "DB_CONNECT_TIMEOUT_SECONDS", d.db_connect_timeout_seconds, 1,
      600, "Timeout of one connection attempt to PostgreSQL.", &c->db_connect_timeout_seconds);
  options.AddString("health-address", "HEALTH_ADDRESS", d.health_address,
                    "Address of the gRPC health endpoint.", &c->health_address);
  options.AddInt("health-port", "HEALTH_PORT", d.health_port, 0, 65535,
                 "Port of the gRPC health service (grpc.health.v1): \"\" is SERVING while the "
                 "process runs (liveness), \"zeva.worker\" while it can deliver (readiness). 0 "
                 "turns it off.",
                 &c->health_port);
  options.AddInt("metrics-port", "METRICS_PORT", d.metrics_port, 0, 65535,
                 "Port of the Prometheus /metrics endpoint; 0 turns it off.", &c->metrics_port);
  options.AddInt("shutdown-grace-seconds", "SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds, 0,
                 3600,
                 "After SIGTERM/SIGINT, how long the batches in hand may take to finish; the "
                 "worker claims nothing new meanwhile.",
                 &c->shutdown_grace_seconds);
  options.AddInt("ledger-audit-interval-seconds", "LEDGER_AUDIT_INTERVAL_SECONDS",
                 d.ledger_audit_interval_seconds, 0, 86400,
                 "How often the credit ledger's invariants are checked (one read-only snapshot); "
                 "violations are logged and counted in zeva_ledger_audit_violations. 0: never.",
                 &c->ledger_audit_interval_seconds);
  options.AddInt("icbc-lease-ms", "ICBC_LEASE_MS", d.icbc_lease_ms, 1000, 600000,
                 "An ICBC import being processed is leased to its worker this long, renewed as "
                 "it reads the file; if the worker dies, another takes the import over after it.",
                 &c->icbc_lease_ms);
  options.AddInt("icbc-abandoned-after-seconds", "ICBC_ABANDONED_AFTER_SECONDS",
                 d.icbc_abandoned_after_seconds, 1, 31536000,
                 "An ICBC upload that received no chunk for this long is cancelled.",
                 &c->icbc_abandoned_after_seconds);
  options.AddInt("icbc-cleanup-interval-seconds", "ICBC_CLEANUP_INTERVAL_SECONDS",
                 d.icbc_cleanup_interval_seconds, 1, 86400,
                 "How often abandoned ICBC uploads are looked for.",
                 &c->icbc_cleanup_interval_seconds);
  options.AddInt("icbc-import-timeout-seconds", "ICBC_IMPORT_TIMEOUT_SECONDS",
                 d.icbc_import_timeout_seconds, 10, 86400,
                 "Longest time one ICBC import's transaction may take.",
                 &c->icbc_import_timeout_seconds);
  return options;
}

}  // namespace

absl::StatusOr<ParsedWorkerConfig> ParseWorkerConfig(const std::vector<std::string>& args,
                                                     const EnvLookup& env) {
  ParsedWorkerConfig parsed;
  OptionSet options = WorkerOptions(&parsed.config);
  if (auto s = options.ParseFlagsOnly(args, env, &parsed.help_requested); !s.ok()) return s;
  if (parsed.help_requested) return parsed;
  const WorkerConfig& c = parsed.config;
  if (auto s = Required(c.database_url, "DATABASE_URL", "database-url"); !s.ok()) return s;
  if (auto s = Required(c.rabbitmq_url, "RABBITMQ_URL", "rabbitmq-url"); !s.ok()) return s;
  if (!absl::StartsWith(c.rabbitmq_url, "amqp://") &&
      !absl::StartsWith(c.rabbitmq_url, "amqps://")) {
    return absl::InvalidArgumentError("RABBITMQ_URL must start with amqp:// or amqps://");
  }
  if (!c.smtp_url.empty() && !absl::StartsWith(c.smtp_url, "smtp://") &&
      !absl::StartsWith(c.smtp_url, "smtps://")) {
    return absl::InvalidArgumentError("SMTP_URL must start with smtp:// or smtps://");
  }
  if (c.mail_disabled && !c.smtp_url.empty()) {
    return absl::InvalidArgumentError("MAIL_DISABLED and SMTP_URL exclude each other");
  }
  if (c.retry_initial_ms > c.retry_max_ms) {
    return absl::InvalidArgumentError("RETRY_INITIAL_MS must not exceed RETRY_MAX_MS");
  }
  if (c.claim_lease_ms <= c.broker_confirm_timeout_ms + c.broker_connect_timeout_ms ||
      c.claim_lease_ms <= c.smtp_timeout_ms) {
    return absl::InvalidArgumentError(
        "OUTBOX_CLAIM_LEASE_MS must exceed BROKER_CONNECT_TIMEOUT_MS + BROKER_CONFIRM_TIMEOUT_MS "
        "and SMTP_TIMEOUT_MS, or a second worker would take events still being delivered");
  }
  return parsed;
}

std::string WorkerHelp() {
  WorkerConfig scratch;
  return WorkerOptions(&scratch).Help();
}

}  // namespace zeva::config
