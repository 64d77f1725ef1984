#pragma once
// Everything zeva-worker reads at start-up, in one typed struct, in the server's style: every
// field has an environment variable and a flag (see --help), and a default here.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/option_set.h"

namespace zeva::config {

struct WorkerConfig {
  std::string database_url;
  std::string rabbitmq_url;
  std::string smtp_url;        // empty: this replica sends no e-mail (others may)
  bool mail_disabled = false;  // the deployment sends no e-mail: events count as mailed
  std::string smtp_from = "ZEVA <zeva@localhost>";
  std::string log_level = "info";
  std::string log_format = "plain";
  int publish_batch_size = 100;  // events claimed at once for RabbitMQ
  int mail_batch_size = 20;      // events claimed at once for e-mail
  int poll_interval_ms = 1000;   // fallback when no NOTIFY arrives
  int claim_lease_ms = 30000;    // a claimed event is another worker's again after this
  int retry_initial_ms = 500;    // first retry delay of an event after a failure
  int retry_max_ms = 60000;      // delays double up to this
  int max_attempts = 25;         // then an event is dead-lettered on that channel
  int broker_connect_timeout_ms = 5000;
  int broker_confirm_timeout_ms = 10000;
  int broker_heartbeat_seconds = 30;
  int smtp_timeout_ms = 10000;
  int retention_hours = 168;  // delivered events are deleted after this
  int prune_interval_seconds = 300;
  int ledger_audit_interval_seconds = 600;  // 0: no periodic ledger audit
  int db_pool_size = 4;
  int db_connect_timeout_seconds = 5;
  int health_port = 10103;  // gRPC health; 0: none
  std::string health_address = "0.0.0.0";
  int metrics_port = 9103;  // 0: no metrics endpoint
  int shutdown_grace_seconds = 20;
  int icbc_lease_ms = 20000;                 // an ICBC import's lease, renewed while it runs
  int icbc_abandoned_after_seconds = 86400;  // an upload with no chunk this long is cancelled
  int icbc_cleanup_interval_seconds = 60;    // how often abandoned uploads are looked for
  int icbc_import_timeout_seconds = 3600;    // bound of one import's transaction
};

struct ParsedWorkerConfig {
  WorkerConfig config;
  bool help_requested = false;
};

// Pure: the same arguments and environment always give the same result.
absl::StatusOr<ParsedWorkerConfig> ParseWorkerConfig(const std::vector<std::string>& args,
                                                     const EnvLookup& env);

// The --help text: every option with its environment variable and default.
std::string WorkerHelp();

}  // namespace zeva::config
