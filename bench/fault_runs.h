#pragma once
// Fault runs of the outbox benchmark: a transfer load (create, submit, rescind, by several
// sellers) against the real server and two workers, and in the middle of it PostgreSQL
// restarted, RabbitMQ stopped for a while, or a worker killed with SIGKILL. Afterwards the
// ledger audit must find nothing, and every event committed during the run must reach a
// consumer of zeva.events; the result says which calls failed, with which codes.

#include <nlohmann/json.hpp>
#include <string>

namespace zeva::bench {

struct FaultOptions {
  std::string database_url;
  std::string rabbitmq_url;
  std::string worker_binary;
  std::string target;        // the server
  std::string tokens_file;   // test_gov_director and bench_spread_N
  std::string pg_dir;        // scripts/pg-throwaway.sh's folder of the server's PostgreSQL
  std::string rabbitmq_dir;  // scripts/rabbitmq-throwaway.sh's folder of the broker
  int callers = 8;
  int seconds = 12;  // of load; the fault starts after a quarter of it
};

// `kind`: "postgres-restart", "rabbitmq-stop" or "worker-kill". Throws std::runtime_error
// when the run cannot be set up.
nlohmann::json RunFault(const FaultOptions& options, const std::string& kind);

}  // namespace zeva::bench
