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
  std::string token;  // test_gov_director's
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
  set.AddSecret("token", "ZEVA_BENCH_TOKEN", "A token of test_gov_director.", &o.token);
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
  if (o.database_url.empty() || o.rabbitmq_url.empty() || o.token.empty()) {
    return absl::InvalidArgumentError("DATABASE_URL, RABBITMQ_URL and ZEVA_BENCH_TOKEN are needed");
  }
  return o;
}

std::string Sql(const std::string& url, const std::string& statement) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  const pqxx::result r = tx.exec(statement);
  tx.commit();
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Events committed straight into the outbox (two recipients each: three messages; journal ids
// no journal has, so that the ledger audit does not count them), drained
// by `workers` workers. Returns the result, or throws when an event is missing.
nlohmann::json Throughput(const Options& o, int workers) {
  const std::string type = absl::StrCat("credits.bench.throughput", workers);
  zeva::testing::AmqpTestConsumer consumer(o.rabbitmq_url, "zeva.events", "topic", "bench-" + type,
                                           type);
  Sql(o.database_url,
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
  const std::string expected =
      Sql(o.database_url,
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

// One load level: `callers` closed-loop AdjustCredits callers, `events` calls in all, with the
// consumer receiving meanwhile.
nlohmann::json Latency(const Options& o, zeva::testing::AmqpTestConsumer& notes, int callers,
                       size_t* received_before, int64_t organization_id) {
  const std::string seq_before =
      Sql(o.database_url, "SELECT coalesce(max(seq), 0) FROM outbox_events");
  auto channel = grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  std::atomic<int> next{0}, ok{0}, failed{0};
  const std::string run = std::to_string(Clock::now().time_since_epoch().count());
  std::vector<zeva::testing::ReceivedMessage> got;
  const size_t want = *received_before + 2 * static_cast<size_t>(o.latency_events);
  std::thread consumer([&] { got = notes.WaitFor(want, 300s); });
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(callers));
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&] {
      auto stub = credits::CreditAdminService::NewStub(channel);
      for (int i = next++; i < o.latency_events; i = next++) {
        credits::AdjustCreditsRequest request;
        request.set_idempotency_key(absl::StrCat("bench-", run, "-", i));
        request.set_organization_id(static_cast<uint64_t>(organization_id));
        request.set_reason("outbox bench");
        auto* line = request.add_lines();
        line->set_model_year(2021);
        line->set_credit_class(credits::CREDIT_CLASS_A);
        line->mutable_amount()->set_hundredths(1);
        grpc::ClientContext context;
        context.AddMetadata("authorization", "Bearer " + o.token);
        context.set_deadline(Clock::now() + 30s);
        credits::Journal journal;
        (stub->AdjustCredits(&context, request, &journal).ok() ? ok : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double load_seconds = Seconds(Clock::now() - started);
  consumer.join();

  // The events this level committed, with their transaction's time.
  std::map<std::string, int64_t> occurred;
  {
    pqxx::connection c(o.database_url);
    pqxx::nontransaction tx(c);
    for (const auto& row :
         tx.exec("SELECT id::text, (extract(epoch FROM occurred_at) * 1000000)::bigint "
                 "FROM outbox_events WHERE seq > " +
                 seq_before)) {
      occurred[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
  }
  std::map<std::string, int64_t> first_seen;
  for (size_t i = *received_before; i < got.size(); ++i) {
    const auto& m = got[i];
    const int64_t at =
        std::chrono::duration_cast<std::chrono::microseconds>(m.received_at.time_since_epoch())
            .count();
    auto [it, inserted] = first_seen.emplace(m.message_id, at);
    if (!inserted) it->second = std::min(it->second, at);
  }
  *received_before = got.size();
  std::vector<int64_t> micros;
  int lost = 0;
  for (const auto& [id, at] : occurred) {
    auto seen = first_seen.find(id);
    if (seen == first_seen.end()) {
      ++lost;
      continue;
    }
    micros.push_back(std::max<int64_t>(0, seen->second - at));
  }
  const auto summary = zeva::bench::Summarize(micros);
  nlohmann::json r{{"callers", callers},
                   {"calls_ok", ok.load()},
                   {"calls_failed", failed.load()},
                   {"calls_per_second", ok.load() / load_seconds},
                   {"events", occurred.size()},
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

    const int64_t organization_id = std::stoll(
        Sql(o.database_url, "SELECT id FROM organizations WHERE name = 'Test Vehicle Supplier 1'"));
    zeva::testing::AmqpTestConsumer notes(o.rabbitmq_url, "notifications", "fanout",
                                          "bench-notifications", "");
    size_t received = 0;
    out["latency"] = nlohmann::json::array();
    bool lost = false;
    {
      zeva::bench::WorkerProcesses running(o.worker_binary, o.database_url, o.rabbitmq_url);
      running.Start(2);
      for (const auto& level : absl::StrSplit(o.loads, ' ', absl::SkipEmpty())) {
        const auto r = Latency(o, notes, std::stoi(std::string(level)), &received, organization_id);
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
       << "| callers (AdjustCredits) | calls/s | events | lost | p50 ms | p99 ms | max ms |\n"
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
