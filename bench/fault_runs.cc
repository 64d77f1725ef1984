#include "bench/fault_runs.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/load_runner.h"
#include "bench/round_trips.h"
#include "bench/transfer_load.h"
#include "bench/worker_processes.h"
#include "db/ledger_audit.h"
#include "tests/support/amqp_test_consumer.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::bench {
namespace {

namespace credits = ::zeva::credits::v1;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void Script(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

}  // namespace

nlohmann::json RunFault(const FaultOptions& o, const std::string& kind) {
  const auto tokens = ReadTokens(o.tokens_file);
  if (tokens.count("test_gov_director") == 0 || tokens.count("test_vs_2") == 0) {
    throw std::runtime_error("the tokens file lacks test_gov_director or test_vs_2");
  }
  auto channel = grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  const uint64_t buyer = OrganizationOf(channel, tokens.at("test_vs_2"));
  const std::string run =
      absl::StrCat(kind, "-", std::chrono::system_clock::now().time_since_epoch().count());
  const std::string seq_before =
      QueryValue(o.database_url, "SELECT coalesce(max(seq), 0) FROM outbox_events");
  zeva::testing::AmqpTestConsumer consumer(o.rabbitmq_url, "zeva.events", "topic", "bench-" + kind,
                                           "#");
  // Bound like the frontend's: workers publish `mandatory`, and an event whose notifications
  // reach no queue is retried, not delivered.
  zeva::testing::AmqpTestConsumer frontend(o.rabbitmq_url, "notifications", "fanout",
                                           "bench-frontend-" + kind, "");
  std::vector<std::string> sellers;
  for (int i = 1; i <= o.callers; ++i) {
    const std::string user = absl::StrCat("bench_spread_", i);
    if (tokens.count(user) == 0) throw std::runtime_error("no token for " + user);
    Fund(channel, tokens.at("test_gov_director"), OrganizationOf(channel, tokens.at(user)),
         absl::StrCat(run, "-fund-", i));
    sellers.push_back(user);
  }

  WorkerProcesses workers(o.worker_binary, o.database_url, o.rabbitmq_url);
  workers.Start(2);
  Tally tally;
  const auto started = Clock::now();
  const auto until = started + std::chrono::seconds(o.seconds);
  std::vector<std::thread> load;
  load.reserve(sellers.size());
  for (size_t i = 0; i < sellers.size(); ++i) {
    load.emplace_back(SellerLoop, channel, tokens.at(sellers[i]), buyer,
                      absl::StrCat(run, "-", i, "-"), until, &tally);
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds / 4));
  const auto fault_started = Clock::now();
  if (kind == "postgres-restart") {
    Script("bash scripts/pg-throwaway.sh stop '" + o.pg_dir + "' >/dev/null");
    std::this_thread::sleep_for(2s);
    Script("bash scripts/pg-throwaway.sh resume '" + o.pg_dir + "' >/dev/null");
  } else if (kind == "rabbitmq-stop") {
    Script("bash scripts/rabbitmq-throwaway.sh stop '" + o.rabbitmq_dir + "' >/dev/null");
    std::this_thread::sleep_for(5s);
    Script("bash scripts/rabbitmq-throwaway.sh start '" + o.rabbitmq_dir + "' >/dev/null");
  } else if (kind == "worker-kill") {
    workers.KillOne();
    std::this_thread::sleep_for(2s);
    workers.Start(1);
  } else {
    throw std::runtime_error("unknown fault " + kind);
  }
  const double fault_seconds = std::chrono::duration<double>(Clock::now() - fault_started).count();
  for (auto& t : load) t.join();

  // Every event committed during the run, delivered (the killed worker's lease may hold some
  // back for its length).
  WaitUntilPublished(o.database_url, seq_before, 120s);
  const double drained_after = std::chrono::duration<double>(Clock::now() - until).count();
  std::set<std::string> committed;
  {
    pqxx::connection c(o.database_url);
    pqxx::nontransaction tx(c);
    for (const auto& row :
         tx.exec("SELECT id::text FROM outbox_events WHERE seq > " + seq_before)) {
      committed.insert(row[0].as<std::string>());
    }
  }
  std::set<std::string> received;
  size_t lost = committed.size();
  size_t total = 0;  // messages received, duplicates included
  const auto receive_deadline = Clock::now() + 60s;
  while (lost > 0 && Clock::now() < receive_deadline) {
    // Ask for more than already received: redeliveries count towards the total.
    const auto got = consumer.WaitFor(total + lost, 2s);
    total = got.size();
    for (const auto& m : got) received.insert(m.message_id);
    lost = 0;
    for (const auto& id : committed) lost += received.count(id) == 0 ? 1 : 0;
  }
  auto violations = db::AuditLedger(o.database_url, /*outbox=*/true);
  if (!violations.ok()) throw std::runtime_error(std::string(violations.status().message()));

  int64_t ok = 0, failed = 0;
  nlohmann::json by_code = nlohmann::json::object();
  for (const auto& [code, n] : tally.by_code) {
    by_code[code] = n;
    (code == "OK" ? ok : failed) += n;
  }
  nlohmann::json r{{"fault", kind},
                   {"callers", o.callers},
                   {"load_seconds", o.seconds},
                   {"fault_seconds", fault_seconds},
                   {"calls_ok", ok},
                   {"calls_failed", failed},
                   {"calls_by_code", by_code},
                   {"events", committed.size()},
                   {"events_lost", lost},
                   {"seconds_to_drain_after_load", drained_after},
                   {"violations", violations->size()}};
  for (const auto& v : *violations) std::cerr << "outbox-bench: violation: " << v << "\n";
  std::cerr << "outbox-bench: fault " << r.dump() << "\n";
  return r;
}

}  // namespace zeva::bench
