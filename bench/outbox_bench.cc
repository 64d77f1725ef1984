// zeva-outbox-bench: what the transactional outbox costs and how fast it drains, measured on
// real processes (see bench/outbox.sh, which starts PostgreSQL, RabbitMQ and the server):
//
// - throughput: N events committed to the outbox, then 1 and then 2 zeva-worker processes
//   drain them; events/s from the first message received to the last, side by side;
// - latency: two workers running, the server under a closed-loop AdjustCredits load of 1, 4,
//   16... callers; for each event, the time from its transaction (occurred_at, taken at the
//   transaction's start, so an upper bound of commit-to-delivery) to its first notification
//   message received by a consumer bound to the `notifications` exchange like the frontend's.
//
// Every run checks that each committed event arrived (distinct message_ids); a lost event
// fails the benchmark (exit 1). Writes outbox.json, outbox.md and outbox-latency.dat.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/fault_runs.h"
#include "bench/latency.h"
#include "bench/round_trips.h"
#include "bench/transfer_load.h"
#include "bench/worker_processes.h"
#include "config/option_set.h"
#include "tests/support/amqp_test_consumer.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace {

namespace credits = zeva::credits::v1;
using Clock = std::chrono::system_clock;
using namespace std::chrono_literals;

struct Options {
  std::string database_url;
  std::string rabbitmq_url;
  std::string worker_binary;
  std::string target;
  int throughput_events = 20000;
  int latency_events = 1000;
  std::string loads = "1 4 16";
  std::string out_dir = "bench/results";
  std::string faults = "postgres-restart rabbitmq-stop worker-kill";
  zeva::bench::FaultOptions fault;
};

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args, bool* help) {
  Options o;
  zeva::config::OptionSet set("zeva-outbox-bench: outbox throughput and latency (bench/outbox.sh)");
  set.AddSecret("database-url", "DATABASE_URL", "PostgreSQL URL (migrated, fixtures).",
                &o.database_url);
  set.AddSecret("rabbitmq-url", "RABBITMQ_URL", "RabbitMQ URL.", &o.rabbitmq_url);
  set.AddString("worker-binary", "", "build/worker/zeva-worker", "zeva-worker to run.",
                &o.worker_binary);
  set.AddString("target", "", "127.0.0.1:10102", "The server.", &o.target);
  set.AddInt("throughput-events", "", o.throughput_events, 1, 10000000,
             "Events drained by 1, then 2 workers.", &o.throughput_events);
  set.AddInt("latency-events", "", o.latency_events, 1, 10000000,
             "Events (AdjustCredits calls) per load level.", &o.latency_events);
  set.AddString("loads", "", o.loads, "Concurrent callers of each load level.", &o.loads);
  set.AddString("out-dir", "", o.out_dir, "Where results go.", &o.out_dir);
  set.AddString("faults", "", o.faults, "Fault runs to make (empty: none).", &o.faults);
  set.AddString("tokens-file", "ZEVA_BENCH_TOKENS_FILE", "",
                "Fault runs: users and tokens (test_gov_director, test_vs_2, bench_spread_N).",
                &o.fault.tokens_file);
  set.AddString("pg-dir", "", "", "Fault runs: the pg-throwaway.sh folder of the database.",
                &o.fault.pg_dir);
  set.AddString("rabbitmq-dir", "", "",
                "Fault runs: the rabbitmq-throwaway.sh folder of the broker.",
                &o.fault.rabbitmq_dir);
  set.AddInt("fault-seconds", "", o.fault.seconds, 4, 3600, "Fault runs: seconds of load.",
             &o.fault.seconds);
  set.AddInt("fault-callers", "", o.fault.callers, 1, 64,
             "Fault runs: sellers creating, submitting and rescinding.", &o.fault.callers);
  auto positional = set.Parse(args, zeva::config::ProcessEnv(), help);
  if (!positional.ok()) return positional.status();
  if (*help) {
    std::cout << set.Help();
    return o;
  }
  o.fault.database_url = o.database_url;
  o.fault.rabbitmq_url = o.rabbitmq_url;
  o.fault.worker_binary = o.worker_binary;
  o.fault.target = o.target;
  if (o.database_url.empty() || o.rabbitmq_url.empty() || o.fault.tokens_file.empty()) {
    return absl::InvalidArgumentError("DATABASE_URL, RABBITMQ_URL and --tokens-file are needed");
  }
  return o;
}

using zeva::bench::QueryValue;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Events committed straight into the outbox (two recipients each: three messages; journal ids
// no journal has, so that the ledger audit does not count them), drained
// by `workers` workers. Returns the result, or throws when an event is missing.
nlohmann::json Throughput(const Options& o, int workers) {
  const std::string type = absl::StrCat("credits.bench.throughput", workers);
  zeva::testing::AmqpTestConsumer consumer(o.rabbitmq_url, "zeva.events", "topic", "bench-" + type,
                                           type);
  // Bound like the frontend's: workers publish `mandatory`, and an event whose notifications
  // reach no queue is retried, not delivered.
  zeva::testing::AmqpTestConsumer frontend(o.rabbitmq_url, "notifications", "fanout",
                                           "bench-frontend-" + type, "");
  QueryValue(
      o.database_url,
      absl::StrCat("INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids,"
                   " recipients) SELECT '",
                   type,
                   "', 'bench', -g, '{1}', '{test_vs_1,test_vs_1_user}'"
                   " FROM generate_series(1, ",
                   o.throughput_events, ") g"));
  const auto started = Clock::now();
  std::vector<zeva::testing::ReceivedMessage> got;
  {
    zeva::bench::WorkerProcesses running(o.worker_binary, o.database_url, o.rabbitmq_url);
    running.Start(workers);
    got = consumer.WaitFor(static_cast<size_t>(o.throughput_events), 600s);
  }
  std::set<std::string> ids;
  for (const auto& m : got) ids.insert(m.message_id);
  const std::string expected = QueryValue(
      o.database_url,
      absl::StrCat("SELECT count(*) FROM outbox_events WHERE event_type = '", type, "'"));
  if (ids.size() != static_cast<size_t>(std::stoll(expected))) {
    throw std::runtime_error(absl::StrCat("throughput with ", workers, " workers: ", ids.size(),
                                          " of ", expected, " events arrived"));
  }
  const double drain = Seconds(got.back().received_at - got.front().received_at);
  nlohmann::json r{{"workers", workers},
                   {"events", o.throughput_events},
                   {"messages", 3 * o.throughput_events},
                   {"seconds_first_to_last", drain},
                   {"seconds_from_start", Seconds(got.back().received_at - started)},
                   {"events_per_second", drain > 0 ? o.throughput_events / drain : 0}};
  std::cerr << "outbox-bench: throughput " << r.dump() << "\n";
  return r;
}

// One load level: `callers` sellers moving transfers (create, submit, rescind) in a closed
// loop until the level has `latency_events` events with recipients, the consumer receiving
// meanwhile. Latency: from the event's commit to its first notification message. The commit
// time is that of the transaction that wrote the event's notification rows (never updated by
// the bench; the outbox row itself is, by the worker): pg_xact_commit_timestamp with
// track_commit_timestamp on, else the transaction's start (an upper bound).
nlohmann::json Latency(const Options& o, zeva::testing::AmqpTestConsumer& notes, int callers,
                       size_t* received_before, uint64_t buyer,
                       const std::map<std::string, std::string>& tokens) {
  const std::string seq_before =
      QueryValue(o.database_url, "SELECT coalesce(max(seq), 0) FROM outbox_events");
  auto channel = grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  const std::string run = std::to_string(Clock::now().time_since_epoch().count());
  std::atomic<bool> stop{false};
  std::vector<zeva::testing::ReceivedMessage> got;
  std::thread consumer([&] {
    size_t have = *received_before;
    while (!stop) have = (got = notes.WaitFor(have + 1, 200ms)).size();
    got = notes.Drain(2s);
  });
  zeva::bench::Tally tally;
  const auto started = std::chrono::steady_clock::now();
  const auto limit = started + 120s;
  std::atomic<bool> enough{false};
  std::vector<std::thread> load;
  load.reserve(static_cast<size_t>(callers));
  for (int i = 0; i < callers; ++i) {
    const std::string user = absl::StrCat("bench_spread_", 1 + i);
    load.emplace_back([&, user, i] {
      // Short slices, so that the level ends soon after it has its events; each slice with
      // idempotency keys of its own (a reused key would be a replay, which writes nothing).
      for (int slice = 0; !enough && std::chrono::steady_clock::now() < limit; ++slice) {
        zeva::bench::SellerLoop(channel, tokens.at(user), buyer,
                                absl::StrCat(run, "-", i, "-", slice, "-"),
                                std::chrono::steady_clock::now() + 500ms, &tally);
      }
    });
  }
  const std::string count_sql = "SELECT count(*) FROM outbox_events WHERE seq > " + seq_before +
                                " AND cardinality(recipients) > 0";
  while (std::chrono::steady_clock::now() < limit &&
         std::stoll(QueryValue(o.database_url, count_sql)) < o.latency_events) {
    std::this_thread::sleep_for(100ms);
  }
  enough = true;
  for (auto& t : load) t.join();
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Everything committed is published within a few seconds (bounded: a loss shows below);
  // the consumer then drains what is still on its way.
  zeva::bench::WaitUntilPublished(o.database_url, seq_before, 60s);
  stop = true;
  consumer.join();

  std::map<std::string, int64_t> committed;
  {
    pqxx::connection c(o.database_url);
    pqxx::nontransaction tx(c);
    for (const auto& row :
         tx.exec("SELECT e.id::text, (extract(epoch FROM coalesce(min("
                 "pg_xact_commit_timestamp(n.xmin)), min(e.occurred_at))) * 1000000)::bigint "
                 "FROM outbox_events e JOIN notifications n ON n.event_id = e.id "
                 "WHERE e.seq > " +
                 seq_before + " GROUP BY e.id")) {
      committed[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
  }
  std::map<std::string, int64_t> first_seen;
  for (size_t i = *received_before; i < got.size(); ++i) {
    const auto& m = got[i];
    const int64_t at =
        std::chrono::duration_cast<std::chrono::microseconds>(m.received_at.time_since_epoch())
            .count();
    // A notification's message_id is "<event UUID>.<username>": the event is its prefix.
    auto [it, inserted] = first_seen.emplace(m.message_id.substr(0, m.message_id.find('.')), at);
    if (!inserted) it->second = std::min(it->second, at);
  }
  *received_before = got.size();
  std::vector<int64_t> micros;
  int lost = 0;
  for (const auto& [id, at] : committed) {
    auto seen = first_seen.find(id);
    if (seen == first_seen.end()) {
      ++lost;
      continue;
    }
    micros.push_back(std::max<int64_t>(0, seen->second - at));
  }
  int64_t ok = 0, failed = 0;
  for (const auto& [code, n] : tally.by_code) (code == "OK" ? ok : failed) += n;
  const auto summary = zeva::bench::Summarize(micros);
  nlohmann::json r{{"callers", callers},
                   {"calls_ok", ok},
                   {"calls_failed", failed},
                   {"calls_per_second", static_cast<double>(ok) / load_seconds},
                   {"events", committed.size()},
                   {"events_lost", lost},
                   {"latency_p50_ms", summary.p50_ms},
                   {"latency_p99_ms", summary.p99_ms},
                   {"latency_max_ms", summary.max_ms},
                   {"latency_mean_ms", summary.mean_ms}};
  std::cerr << "outbox-bench: latency " << r.dump() << "\n";
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  bool help = false;
  auto options = ParseOptions(std::vector<std::string>(argv + 1, argv + argc), &help);
  if (!options.ok()) {
    std::cerr << "zeva-outbox-bench: " << options.status().message() << "\n";
    return 2;
  }
  if (help) return 0;
  const Options& o = *options;
  try {
    nlohmann::json out;
    out["throughput"] = {Throughput(o, 1), Throughput(o, 2)};
    const double one = out["throughput"][0]["events_per_second"];
    const double two = out["throughput"][1]["events_per_second"];
    out["two_over_one"] = one > 0 ? two / one : 0;

    const auto tokens = zeva::bench::ReadTokens(o.fault.tokens_file);
    if (tokens.count("test_gov_director") == 0 || tokens.count("test_vs_2") == 0) {
      throw std::runtime_error("the tokens file lacks test_gov_director or test_vs_2");
    }
    auto channel = grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
    const uint64_t buyer = zeva::bench::OrganizationOf(channel, tokens.at("test_vs_2"));
    int most = 0;
    for (const auto& level : absl::StrSplit(o.loads, ' ', absl::SkipEmpty())) {
      most = std::max(most, std::stoi(std::string(level)));
    }
    for (int i = 1; i <= most; ++i) {
      const std::string user = absl::StrCat("bench_spread_", i);
      if (tokens.count(user) == 0) throw std::runtime_error("no token for " + user);
      zeva::bench::Fund(channel, tokens.at("test_gov_director"),
                        zeva::bench::OrganizationOf(channel, tokens.at(user)),
                        absl::StrCat("latency-fund-", i));
    }
    zeva::testing::AmqpTestConsumer notes(o.rabbitmq_url, "notifications", "fanout",
                                          "bench-notifications", "");
    // A downstream service's queue on zeva.events: without one, each event's message there
    // would come back unroutable and the event be retried.
    zeva::testing::AmqpTestConsumer downstream(o.rabbitmq_url, "zeva.events", "topic",
                                               "bench-latency-events", "#");
    size_t received = 0;
    out["latency"] = nlohmann::json::array();
    bool lost = false;
    {
      zeva::bench::WorkerProcesses running(o.worker_binary, o.database_url, o.rabbitmq_url);
      running.Start(2);
      for (const auto& level : absl::StrSplit(o.loads, ' ', absl::SkipEmpty())) {
        const auto r = Latency(o, notes, std::stoi(std::string(level)), &received, buyer, tokens);
        lost = lost || r["events_lost"].get<int>() > 0;
        out["latency"].push_back(r);
      }
    }

    out["faults"] = nlohmann::json::array();
    for (const auto& kind : absl::StrSplit(o.faults, ' ', absl::SkipEmpty())) {
      const auto r = zeva::bench::RunFault(o.fault, std::string(kind));
      lost = lost || r["events_lost"].get<int>() > 0 || r["violations"].get<int>() > 0;
      out["faults"].push_back(r);
    }

    std::ofstream(o.out_dir + "/outbox.json") << out.dump(2) << "\n";
    std::ofstream dat(o.out_dir + "/outbox-latency.dat");
    std::ostringstream md;
    md << "### Outbox: throughput (1 vs 2 workers) and commit-to-notification latency\n\n"
       << "| workers | events | s (first to last message) | events/s |\n|---|---|---|---|\n";
    for (const auto& r : out["throughput"]) {
      md << "| " << r["workers"] << " | " << r["events"] << " | "
         << r["seconds_first_to_last"].get<double>() << " | "
         << static_cast<int64_t>(r["events_per_second"].get<double>()) << " |\n";
    }
    md << "\nTwo workers / one: **" << out["two_over_one"].get<double>() << "**\n\n"
       << "| sellers moving transfers | transfer calls/s | events notified | lost | p50 ms | p99 "
          "ms | max ms |\n"
       << "|---|---|---|---|---|---|---|\n";
    for (const auto& r : out["latency"]) {
      md << "| " << r["callers"] << " | "
         << static_cast<int64_t>(r["calls_per_second"].get<double>()) << " | " << r["events"]
         << " | " << r["events_lost"] << " | " << r["latency_p50_ms"].get<double>() << " | "
         << r["latency_p99_ms"].get<double>() << " | " << r["latency_max_ms"].get<double>()
         << " |\n";
      dat << r["callers"] << " " << r["latency_p50_ms"].get<double>() << " "
          << r["latency_p99_ms"].get<double>() << " " << r["calls_per_second"].get<double>()
          << "\n";
    }
    if (!out["faults"].empty()) {
      md << "\n| fault (during a transfer load) | s | calls OK | failed, by code | events | "
            "lost | s to deliver all after the load | audit violations |\n"
         << "|---|---|---|---|---|---|---|---|\n";
      for (const auto& r : out["faults"]) {
        std::string codes;
        for (const auto& [code, n] : r["calls_by_code"].items()) {
          if (code != "OK") codes += (codes.empty() ? "" : ", ") + code + " " + n.dump();
        }
        md << "| " << r["fault"].get<std::string>() << " | " << r["fault_seconds"].get<double>()
           << " | " << r["calls_ok"] << " | " << r["calls_failed"] << (codes.empty() ? "" : " (")
           << codes << (codes.empty() ? "" : ")") << " | " << r["events"] << " | "
           << r["events_lost"] << " | " << r["seconds_to_drain_after_load"].get<double>() << " | "
           << r["violations"] << " |\n";
      }
    }
    std::ofstream(o.out_dir + "/outbox.md") << md.str();
    std::cout << md.str();
    if (lost) {
      std::cerr << "zeva-outbox-bench: committed events were lost, or the audit failed\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "zeva-outbox-bench: " << e.what() << "\n";
    return 1;
  }
}
