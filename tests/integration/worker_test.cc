// zeva-worker against real PostgreSQL, RabbitMQ (a private node started by the test) and a
// local SMTP sink, with the real server making the changes: every committed change reaches
// the zeva.events and notifications exchanges and the recipients' mailboxes, at least once,
// through broker outages, worker crashes and two workers at once; a rolled-back change
// reaches nobody.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "broker/amqp_publisher.h"
#include "tests/support/amqp_test_consumer.h"
#include "tests/support/ledger_client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/rabbitmq_server.h"
#include "tests/support/service_fixture.h"
#include "tests/support/smtp_sink.h"
#include "tests/support/wait_until.h"

using namespace zeva::testing;
using namespace std::chrono_literals;

namespace {

// Short timings so that retries and leases play out within a test.
std::map<std::string, std::string> WorkerEnv(const std::string& database_url,
                                             const std::string& rabbitmq_url,
                                             const std::string& smtp_url = "") {
  std::map<std::string, std::string> env{{"DATABASE_URL", database_url},
                                         {"RABBITMQ_URL", rabbitmq_url},
                                         {"OUTBOX_POLL_INTERVAL_MS", "200"},
                                         {"RETRY_INITIAL_MS", "100"},
                                         {"RETRY_MAX_MS", "1000"},
                                         {"BROKER_CONNECT_TIMEOUT_MS", "1000"},
                                         {"BROKER_CONFIRM_TIMEOUT_MS", "2000"},
                                         {"SMTP_TIMEOUT_MS", "2000"},
                                         {"OUTBOX_CLAIM_LEASE_MS", "4000"},
                                         {"SHUTDOWN_GRACE_SECONDS", "5"}};
  if (!smtp_url.empty()) env["SMTP_URL"] = smtp_url;
  return env;
}

// A committed outbox event as the database holds it.
struct StoredEvent {
  std::string type;
  std::set<std::string> recipients;
};

std::map<std::string, StoredEvent> StoredEvents(const std::string& database_url) {
  const std::string text =
      Sql(database_url,
          "SELECT coalesce(json_agg(json_build_object('id', id, 'type', event_type, 'recipients', "
          "recipients) ORDER BY seq), '[]')::text FROM outbox_events");
  std::map<std::string, StoredEvent> events;
  for (const auto& e : nlohmann::json::parse(text)) {
    StoredEvent stored{e["type"].get<std::string>(), {}};
    for (const auto& r : e["recipients"]) stored.recipients.insert(r.get<std::string>());
    events[e["id"].get<std::string>()] = stored;
  }
  return events;
}

std::set<std::string> DistinctIds(const std::vector<ReceivedMessage>& messages) {
  std::set<std::string> ids;
  for (const auto& m : messages) ids.insert(m.message_id);
  return ids;
}

std::set<std::string> Keys(const std::map<std::string, StoredEvent>& events) {
  std::set<std::string> ids;
  for (const auto& [id, e] : events) ids.insert(id);
  return ids;
}

// Receives until the consumer has seen every id in `ids` (duplicates allowed) or the timeout.
std::vector<ReceivedMessage> WaitForIds(AmqpTestConsumer& consumer,
                                        const std::set<std::string>& ids,
                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ReceivedMessage> got = consumer.WaitFor(0, 0ms);
  size_t want = ids.size();
  for (;;) {
    std::set<std::string> seen = DistinctIds(got);
    bool all = true;
    for (const auto& id : ids) all = all && seen.count(id) > 0;
    if (all || std::chrono::steady_clock::now() >= deadline) return got;
    want = std::max(want, got.size() + 1);
    got = consumer.WaitFor(want, std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()));
  }
}

// Runs `request` on channel 1 of a connection of its own to the broker on 127.0.0.1:`port`, as
// an operator might; returns whether every step was answered normally.
bool AsOperator(int port, const std::function<void(amqp_connection_state_t)>& request) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  bool ok =
      amqp_socket_open(socket, "127.0.0.1", port) == AMQP_STATUS_OK &&
      amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type ==
          AMQP_RESPONSE_NORMAL;
  if (ok) {
    amqp_channel_open(conn, 1);
    request(conn);
    ok = amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL;
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return ok;
}

// One RabbitMQ node for every test case that neither stops its broker nor needs a broker with
// nothing bound (a start takes 3-7 s). Each case binds queues of its own (Outbox::queue_suffix) and
// runs its workers against a database of its own, so nothing one case publishes reaches another's
// consumers; the workers of a case are gone before the next case starts.
RabbitMqServer& SharedBroker() {
  static RabbitMqServer broker;
  return broker;
}

enum class Broker { kShared, kOwn };

// The server, a broker, a mail sink, and consumers bound like the frontend's (notifications)
// and like a downstream service's (every event on zeva.events). A case that stops its broker
// asks for its own (Broker::kOwn).
struct Outbox {
  explicit Outbox(Broker which = Broker::kShared)
      : own_broker(which == Broker::kOwn ? std::make_unique<RabbitMqServer>() : nullptr),
        broker(own_broker ? *own_broker : SharedBroker()) {}

  // On the shared broker, the case's queues go with it (otherwise every later case's
  // messages would pile up in them).
  ~Outbox() {
    if (own_broker) return;
    queues.push_back("frontend" + queue_suffix);
    queues.push_back("all-events" + queue_suffix);
    AsOperator(broker.port(), [this](amqp_connection_state_t conn) {
      for (const std::string& queue : queues) {
        amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue.c_str()), /*if_unused=*/0,
                          /*if_empty=*/0);
      }
    });
  }
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  std::unique_ptr<RabbitMqServer> own_broker;
  RabbitMqServer& broker;
  std::string queue_suffix = QueueSuffix();
  // Further queues the case declared on the shared broker, deleted with the case's own.
  std::vector<std::string> queues;
  SmtpSink smtp;
  ServiceFixture service{{"--db-pool-caller-share-percent=100", "--db-acquire-timeout-ms=10000"}};
  LedgerClient ledger{service};
  AmqpTestConsumer notifications{broker.url(), "notifications", "fanout", "frontend" + queue_suffix,
                                 ""};
  AmqpTestConsumer events{broker.url(), "zeva.events", "topic", "all-events" + queue_suffix, "#"};
  uint64_t vs1 = OrganizationId(service.database_url(), "Test Vehicle Supplier 1");
  uint64_t vs2 = OrganizationId(service.database_url(), "Test Vehicle Supplier 2");
  int keys = 0;

  // Without mail: a deployment that sends none (MAIL_DISABLED), unless `extra` says otherwise.
  std::unique_ptr<ServerProcess> StartWorker(bool with_mail = true,
                                             std::map<std::string, std::string> extra = {}) {
    auto env = WorkerEnv(service.database_url(), broker.url(), with_mail ? smtp.url() : "");
    if (!with_mail) env["MAIL_DISABLED"] = "true";
    for (auto& [k, v] : extra) env[k] = v;
    auto worker = ServerProcess::Worker(env);
    worker->WaitUntilServing(30s, "zeva.worker");
    return worker;
  }

  std::string Key() { return "w-" + std::to_string(++keys); }

  // Queue names no earlier case on the shared broker used.
  static std::string QueueSuffix() {
    static int cases = 0;
    return "-" + std::to_string(++cases);
  }

  void Adjust(int64_t hundredths) {
    const auto answer = ledger.AdjustOne(Key(), vs1, 2021, credits::CREDIT_CLASS_A, hundredths);
    INFO(answer.status.error_message());
    REQUIRE(answer.status.ok());
  }

  credits::Transfer Act(const std::string& user, uint64_t id, credits::TransferAction action) {
    const TransferAnswer answer = ledger.Transition(user, Key(), id, action);
    INFO(user << ": " << answer.status.error_message());
    REQUIRE(answer.status.ok());
    return answer.transfer;
  }

  uint64_t Create(int64_t hundredths) {
    const TransferAnswer answer =
        ledger.CreateTransfer("test_vs_1", Key(), vs2, TransferLine{2021, hundredths, 0});
    INFO(answer.status.error_message());
    REQUIRE(answer.status.ok());
    return answer.transfer.id();
  }

  std::string Undelivered() {
    return Sql(service.database_url(),
               "SELECT count(*) FROM outbox_events WHERE published_at IS NULL");
  }

  // A consumer may see a batch before its worker has recorded it as published: wait for the
  // record (bounded).
  std::string UndeliveredAfterSettling() {
    std::string left;
    WaitUntil([&] { return (left = Undelivered()) == "0"; }, 30s, 100ms);
    return left;
  }
};

}  // namespace

TEST_CASE("every step of a transfer reaches RabbitMQ and the recipients' mailboxes", "[worker]") {
  Outbox o;
  auto worker = o.StartWorker();
  o.Adjust(1000);
  const uint64_t id = o.Create(100);
  o.Act("test_vs_1", id, credits::TRANSFER_ACTION_SUBMIT);
  o.Act("test_vs_2", id, credits::TRANSFER_ACTION_ACCEPT);
  o.Act("test_gov_1", id, credits::TRANSFER_ACTION_RECOMMEND_APPROVAL);
  o.Act("test_gov_director", id, credits::TRANSFER_ACTION_RECORD);

  const auto stored = StoredEvents(o.service.database_url());
  REQUIRE(stored.size() == 6);  // adjustment, created and four steps
  size_t recipients = 0;
  for (const auto& [event_id, e] : stored) recipients += e.recipients.size();
  const auto notes = o.notifications.WaitFor(recipients, 30s);
  const auto events = o.events.WaitFor(stored.size(), 30s);
  REQUIRE(o.smtp.WaitForMails(recipients, 30s));
  // Nothing beyond that trickles in: each exactly once when nothing failed.
  CHECK(o.notifications.Drain(1s).size() == recipients);
  CHECK(o.events.Drain(500ms).size() == stored.size());

  std::map<std::string, std::multiset<std::string>> audiences, mailed;
  std::map<std::string, std::vector<std::string>> routing;
  for (const auto& m : notes) {
    CHECK(m.exchange == "notifications");
    CHECK(m.content_type == "application/json");
    CHECK(m.delivery_mode == 2);
    const auto body = nlohmann::json::parse(m.body);
    CHECK(body["type"] == "notification");
    // "<event UUID>.<username>": distinct per recipient.
    const std::string audience = body["audience"].get<std::string>();
    CHECK(m.message_id.size() == 36 + 1 + audience.size());
    CHECK(m.message_id.substr(36) == "." + audience);
    audiences[m.message_id.substr(0, 36)].insert(audience);
  }
  for (const auto& m : events) {
    CHECK(m.content_type == "application/json");
    CHECK(m.delivery_mode == 2);
    const auto body = nlohmann::json::parse(m.body);
    CHECK(body["event_id"] == m.message_id);
    CHECK(body["event_type"] == m.routing_key);
    routing[m.message_id].push_back(m.routing_key);
  }
  for (const auto& mail : o.smtp.Mails()) {
    REQUIRE(mail.recipients.size() == 1);
    const auto at = mail.data.find("Message-ID: <");
    REQUIRE(at != std::string::npos);
    const std::string message_id = mail.data.substr(at + 13, 36);  // the event's UUID
    mailed[message_id].insert(mail.recipients[0]);
  }
  // Per step: exactly the contract's recipients (as notification_test pins them), one event
  // with the right routing key, one e-mail per recipient.
  const std::map<std::string, std::set<std::string>> expected{
      {"credits.journal.adjustment", {"test_vs_1", "test_vs_1_user"}},
      {"credits.transfer.created", {}},
      {"credits.transfer.submitted", {"test_vs_2"}},
      {"credits.transfer.accepted", {"test_gov_1", "test_vs_1", "test_vs_1_user"}},
      {"credits.transfer.recommended_approval", {"test_gov_director"}},
      {"credits.transfer.recorded", {"test_vs_1", "test_vs_1_user", "test_vs_2"}}};
  for (const auto& [event_id, e] : stored) {
    INFO(e.type);
    REQUIRE(expected.count(e.type) == 1);
    const auto& want = expected.at(e.type);
    CHECK(std::set<std::string>(audiences[event_id].begin(), audiences[event_id].end()) == want);
    CHECK(audiences[event_id].size() == want.size());
    CHECK(routing[event_id] == std::vector<std::string>{e.type});
    std::multiset<std::string> addresses;
    for (const auto& user : want) addresses.insert(user + "@example.test");
    CHECK(mailed[event_id] == addresses);
  }
  CHECK(o.UndeliveredAfterSettling() == "0");
  CHECK(Sql(o.service.database_url(),
            "SELECT count(*) FROM outbox_events WHERE mailed_at IS NULL") == "0");
  // One log line per delivered event.
  const std::string log = worker->Log();
  size_t lines = 0;
  for (size_t at = log.find("to RabbitMQ: "); at != std::string::npos;
       at = log.find("to RabbitMQ: ", at + 1)) {
    ++lines;
  }
  CHECK(lines == stored.size());
  // The lag is back to zero and the counters moved.
  const std::string metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_outbox_lag_events", {"channel=\"publish\""}) == 0);
  CHECK(MetricValue(metrics, "zeva_worker_events_delivered_total", {"channel=\"publish\""}) == 6);
  CHECK(MetricValue(metrics, "zeva_worker_confirms_total", {"result=\"ack\""}) ==
        static_cast<double>(recipients + stored.size()));
  CHECK(MetricValue(metrics, "zeva_worker_mails_sent_total") == static_cast<double>(recipients));
}

TEST_CASE("a change that rolls back announces nothing", "[worker]") {
  Outbox o;
  auto worker = o.StartWorker(false);
  // Refused by the server: nothing funded, SUBMIT fails inside its transaction.
  const uint64_t id = o.Create(100);
  auto stub = credits::CreditTransferService::NewStub(o.service.channel());
  credits::TransitionTransferRequest request;
  request.set_idempotency_key("refused");
  request.set_transfer_id(id);
  request.set_action(credits::TRANSFER_ACTION_SUBMIT);
  auto context = o.service.ContextFor("test_vs_1");
  credits::Transfer out;
  CHECK(ErrorReason(stub->TransitionTransfer(context.get(), request, &out)) ==
        "INSUFFICIENT_CREDITS");
  // And an event written by hand in a transaction that rolls back.
  Sql(o.service.database_url(),
      "BEGIN; INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, "
      "recipients) VALUES ('credits.journal.issuance', 'x', 1, '{}', '{test_vs_2}'); ROLLBACK");
  o.Adjust(100);  // committed, after both
  const auto stored = StoredEvents(o.service.database_url());
  REQUIRE(stored.size() == 2);  // created and the adjustment only
  const auto events = o.events.WaitFor(2, 30s);
  CHECK(DistinctIds(o.events.Drain(1s)) == Keys(stored));
  CHECK(o.notifications.Drain(500ms).size() == 2);  // the adjustment's two users only
  CHECK(events.size() == 2);
}

TEST_CASE("a broker stopped in the middle of a stream of transfer transitions loses nothing",
          "[worker]") {
  Outbox o(Broker::kOwn);  // stopped and started here
  auto worker = o.StartWorker(false);
  o.Adjust(1000);
  // Transfers, each created, submitted and rescinded, until told to stop: some before the
  // outage, some during it and some after it (each phase waits for its own).
  std::atomic<int> transfers{0};
  std::atomic<bool> stop{false};
  std::thread load([&] {
    while (!stop) {
      const uint64_t id = o.Create(1);
      o.Act("test_vs_1", id, credits::TRANSFER_ACTION_SUBMIT);
      o.Act("test_vs_1", id, credits::TRANSFER_ACTION_RESCIND);
      ++transfers;
      // Paces the load (a few transfers a second), so that the outage and the restart fall
      // in the middle of it rather than after a burst; no outcome waits on it.
      std::this_thread::sleep_for(100ms);
    }
  });
  // Stops the load (and lets the thread go) whatever the outcome of a REQUIRE below.
  struct Joined {
    std::atomic<bool>& stop;
    std::thread& load;
    ~Joined() {
      stop = true;
      if (load.joinable()) load.join();
    }
  } joined{stop, load};
  REQUIRE(o.events.WaitFor(20, 60s).size() >= 20);  // some delivered before the outage
  o.broker.Stop();
  const int before_outage = transfers;
  // The worker notices (readiness), without dying with the broker.
  CHECK(WaitUntil(
      [&] { return !worker->Running() || worker->Health("zeva.worker") == "NOT_SERVING"; }, 30s));
  if (!worker->Running())
    FAIL_CHECK("the worker died with the broker; its log:\n" << worker->Log());
  CHECK(worker->Health("zeva.worker") == "NOT_SERVING");
  // Transitions go on during the outage: the server never waits for the broker.
  CHECK(WaitUntil([&] { return transfers >= before_outage + 10; }, 60s));
  o.broker.Start();
  const int at_restart = transfers;
  CHECK(WaitUntil([&] { return transfers >= at_restart + 5; }, 60s));  // and after it
  stop = true;
  load.join();
  const int made = transfers;
  INFO(before_outage << " transfers before the outage, " << at_restart << " at the restart, "
                     << made << " in all");
  const auto stored = StoredEvents(o.service.database_url());
  // The funding, then created and two transitions each.
  REQUIRE(stored.size() == static_cast<size_t>(1 + 3 * made));
  const auto events = WaitForIds(o.events, Keys(stored), 90s);
  CHECK(DistinctIds(events) == Keys(stored));  // all of them, none invented
  // Every copy of an event carries its id: duplicates are the same message again.
  std::map<std::string, std::set<std::string>> bodies;
  for (const auto& m : events) bodies[m.message_id].insert(m.body);
  for (const auto& [event_id, copies] : bodies) CHECK(copies.size() == 1);
  CHECK(o.UndeliveredAfterSettling() == "0");
  CHECK(worker->Running());
  CHECK(WaitUntil([&] { return worker->Health("zeva.worker") == "SERVING"; }, 30s));
  const std::string metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_worker_delivery_failures_total", {"channel=\"publish\""}) > 0);
}

TEST_CASE("a channel the broker closes while confirms are awaited is reported, then reopened",
          "[worker]") {
  // The broker answers a publish to a missing exchange by closing the channel (404). The
  // reason lives in memory the publisher frees as it drops the connection (ASan caught a read
  // after that free when RabbitMQ stopped mid-batch); the next call reconnects and declares
  // the exchange again. On the shared broker: the exchange is declared again by whoever needs
  // it next (workers and test consumers alike), and no case's queue outlives its case.
  RabbitMqServer& broker = SharedBroker();
  zeva::broker::AmqpPublisher publisher({broker.url()});
  const std::vector<zeva::broker::OutboundMessage> batch{
      {zeva::broker::kEventsExchange, "transfer.created", "11111111-1111-1111-1111-111111111111",
       "{}", "11111111-1111-1111-1111-111111111111"}};
  zeva::broker::PublishOutcome first;
  REQUIRE(publisher.PublishConfirmed(batch, &first).ok());
  CHECK(first.acked == 1);

  REQUIRE(AsOperator(broker.port(), [](amqp_connection_state_t conn) {
    amqp_exchange_delete(conn, 1, amqp_cstring_bytes(zeva::broker::kEventsExchange),
                         /*if_unused=*/0);
  }));
  zeva::broker::PublishOutcome refused;
  const absl::Status closed = publisher.PublishConfirmed(batch, &refused);
  CHECK(closed.code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(closed.message()).find("404") != std::string::npos);
  CHECK(std::string(closed.message()).find("zeva.events") != std::string::npos);
  CHECK_FALSE(publisher.connected());

  zeva::broker::PublishOutcome again;
  const absl::Status reopened = publisher.PublishConfirmed(batch, &again);
  CHECK(reopened.ok());
  CHECK(again.acked == 1);
}

TEST_CASE("a worker killed by SIGKILL mid-batch: another delivers every committed event",
          "[worker]") {
  Outbox o;
  // Enough events, in small batches, that the kill lands while batches are in flight: 200
  // changes through the server, and 2000 more written straight into the outbox.
  constexpr int kChanges = 200, kBulk = 2000;
  for (int i = 0; i < kChanges; ++i) o.Adjust(1);
  Sql(o.service.database_url(),
      "INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, recipients) "
      "SELECT 'credits.journal.adjustment', 'bulk', g, '{}', '{}' "
      "FROM generate_series(1, " +
          std::to_string(kBulk) + ") g");
  auto worker = o.StartWorker(false, {{"OUTBOX_BATCH_SIZE", "5"}});
  REQUIRE(o.events.WaitFor(10, 30s).size() >= 10);  // batches are in flight
  REQUIRE(kill(worker->pid(), SIGKILL) == 0);
  CHECK(worker->StopWith(0, 5s) == -1);  // died of the signal
  const std::string left = o.Undelivered();
  INFO("undelivered when killed: " << left);
  REQUIRE(left != "0");
  auto second = o.StartWorker(false);
  const auto stored = StoredEvents(o.service.database_url());
  REQUIRE(stored.size() == kChanges + kBulk);
  const auto events = WaitForIds(o.events, Keys(stored), 90s);
  CHECK(DistinctIds(events) == Keys(stored));
  CHECK(o.UndeliveredAfterSettling() == "0");
}

TEST_CASE("two workers share the outbox: every event delivered, both deliver", "[worker]") {
  Outbox o;
  constexpr int kChanges = 300;
  // Both running before the changes, so that both are woken by them; batches small enough
  // that each goes back to the outbox many times.
  auto a = o.StartWorker(false, {{"OUTBOX_BATCH_SIZE", "10"}});
  auto b = o.StartWorker(false, {{"OUTBOX_BATCH_SIZE", "10"}});
  for (int i = 0; i < kChanges; ++i) o.Adjust(1);
  const auto stored = StoredEvents(o.service.database_url());
  const auto events = WaitForIds(o.events, Keys(stored), 60s);
  CHECK(DistinctIds(events) == Keys(stored));
  CHECK(o.UndeliveredAfterSettling() == "0");
  // Claims skip what the other holds, so neither waited on the other: both delivered
  // events, and (no lease expired) none was delivered twice.
  auto delivered = [](const std::string& log) {
    size_t n = 0;
    for (size_t at = log.find("to RabbitMQ: "); at != std::string::npos;
         at = log.find("to RabbitMQ: ", at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t by_a = delivered(a->Log()), by_b = delivered(b->Log());
  INFO("worker a: " << by_a << ", worker b: " << by_b);
  CHECK(by_a > 0);
  CHECK(by_b > 0);
  CHECK(by_a + by_b == static_cast<size_t>(kChanges));
  CHECK(events.size() == static_cast<size_t>(kChanges));
}

TEST_CASE("a mail outage never holds back RabbitMQ, nor a broker outage e-mail", "[worker]") {
  Outbox o;
  auto worker = o.StartWorker(true);
  o.smtp.SetRefusing(true);
  o.Adjust(10);  // two recipients
  o.Adjust(10);
  CHECK(DistinctIds(o.events.WaitFor(2, 30s)).size() == 2);
  CHECK(o.notifications.WaitFor(4, 30s).size() == 4);
  // Both e-mails were tried, and refused: RabbitMQ did not wait for them.
  CHECK(WaitUntil(
      [&] {
        return Sql(o.service.database_url(),
                   "SELECT count(*) FROM outbox_events WHERE mail_error IS NOT NULL AND mailed_at "
                   "IS NULL") == "2";
      },
      30s));
  CHECK(o.smtp.Mails().empty());
  o.smtp.SetRefusing(false);
  CHECK(o.smtp.WaitForMails(4, 30s));

  o.broker.Stop();
  o.Adjust(10);
  CHECK(o.smtp.WaitForMails(6, 30s));  // mailed while the broker is down
  CHECK(o.Undelivered() == "1");
  o.broker.Start();
  CHECK(DistinctIds(o.events.WaitFor(3, 60s)).size() == 3);
  const std::string metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_worker_delivery_failures_total", {"channel=\"mail\""}) > 0);
}

TEST_CASE("delivered events are pruned after the retention, undelivered ones never", "[worker]") {
  Outbox o;
  o.Adjust(10);
  o.Adjust(10);
  auto worker = o.StartWorker(
      false, {{"OUTBOX_RETENTION_HOURS", "1"}, {"OUTBOX_PRUNE_INTERVAL_SECONDS", "1"}});
  REQUIRE(DistinctIds(o.events.WaitFor(2, 30s)).size() == 2);
  // Age the delivered events past the retention; add one that is old but undelivered.
  Sql(o.service.database_url(),
      "UPDATE outbox_events SET published_at = now() - interval '2 hours';"
      "INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, recipients,"
      " next_publish_at) VALUES ('credits.journal.issuance', 'x', 1, '{}', '{}',"
      " now() + interval '1 day')");
  CHECK(WaitUntil(
      [&] { return Sql(o.service.database_url(), "SELECT count(*) FROM outbox_events") == "1"; },
      30s, 200ms));
  CHECK(o.Undelivered() == "1");
  // Users keep their notifications.
  CHECK(Sql(o.service.database_url(), "SELECT count(*) FROM notifications") == "4");
  CHECK(MetricValue(ScrapeMetrics(worker->metrics_port()), "zeva_outbox_pruned_total") == 2);
}

TEST_CASE("zeva-worker drains on SIGTERM and refuses bad configuration", "[worker]") {
  Outbox o;
  auto worker = o.StartWorker(false);
  CHECK(worker->Health("") == "SERVING");
  o.Adjust(10);
  REQUIRE(!o.events.WaitFor(1, 30s).empty());
  const auto started = std::chrono::steady_clock::now();
  CHECK(worker->StopWith(SIGTERM, 15s) == 0);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  CHECK(worker->Log().find("zeva-worker stopped") != std::string::npos);
  // Secrets never reach the log.
  CHECK(worker->Log().find("guest:guest") == std::string::npos);

  const auto bad = RunCommand({WorkerBinary()}, {{"DATABASE_URL", o.service.database_url()}});
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("RABBITMQ_URL") != std::string::npos);
}

TEST_CASE("a committed event wakes the worker at once, not at its next poll", "[worker]") {
  // The LISTEN connection (db/change_feed) hears migration 0012's NOTIFY on commit; polling
  // is only the fallback. With a poll a minute apart, delivery within seconds is the NOTIFY's.
  Outbox o;
  auto worker = o.StartWorker(false, {{"OUTBOX_POLL_INTERVAL_MS", "60000"}});
  REQUIRE(WaitUntil(
      [&] { return worker->Log().find("listening on zeva_outbox") != std::string::npos; }, 30s));
  // Stays a pause: nothing marks a lane idle, and no outcome waits on it. Only the first event
  // could be delivered by a lane's start-up claim instead of the NOTIFY (a pass the pause
  // guards against); it can never make the test fail, and the later events need the NOTIFY.
  std::this_thread::sleep_for(500ms);
  for (size_t n = 1; n <= 3; ++n) {
    const auto committed = std::chrono::steady_clock::now();
    o.Adjust(10);
    CHECK(o.events.WaitFor(n, 5s).size() >= n);
    CHECK(std::chrono::steady_clock::now() - committed < 5s);
  }
}

namespace {

// Polls `sql` until it answers `want` or `timeout` passes; returns the last answer.
std::string WaitForSql(const std::string& url, const std::string& sql, const std::string& want,
                       std::chrono::milliseconds timeout) {
  std::string got;
  WaitUntil([&] { return (got = Sql(url, sql)) == want; }, timeout, 100ms);
  return got;
}

}  // namespace

TEST_CASE("unroutable events are retried, then dead-lettered; a poison event at once", "[worker]") {
  // The frontend's queue is bound to notifications, but nothing to zeva.events: every event's
  // zeva.events message comes back unroutable (published mandatory).
  RabbitMqServer broker;
  ServiceFixture service;
  LedgerClient ledger{service};
  AmqpTestConsumer notifications{broker.url(), "notifications", "fanout", "frontend", ""};
  const uint64_t vs1 = OrganizationId(service.database_url(), "Test Vehicle Supplier 1");
  const std::string url = service.database_url();
  REQUIRE(ledger.AdjustOne("dl-1", vs1, 2021, credits::CREDIT_CLASS_A, 100).status.ok());

  auto env = WorkerEnv(url, broker.url());
  env["MAIL_DISABLED"] = "true";
  env["OUTBOX_MAX_ATTEMPTS"] = "3";
  auto worker = ServerProcess::Worker(env);
  worker->WaitUntilServing(30s, "zeva.worker");

  // Three attempts, each confirmed by the broker yet routed nowhere, then a dead letter: not
  // marked published, and no longer claimed.
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE publish_dead_at IS NOT NULL", "1",
                   30s) == "1");
  CHECK(Sql(url, "SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL") == "0");
  CHECK(Sql(url, "SELECT publish_attempts FROM outbox_events") == "3");
  CHECK(Sql(url, "SELECT publish_error FROM outbox_events").rfind("unroutable", 0) == 0);
  std::string metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_outbox_dead_letters_total",
                    {"channel=\"publish\"", "reason=\"attempts\""}) == 1);
  CHECK(MetricValue(metrics, "zeva_worker_delivery_failures_total",
                    {"channel=\"publish\"", "reason=\"unroutable\""}) == 3);
  CHECK(worker->Log().find("dead-lettered on channel publish after 3 failed attempts") !=
        std::string::npos);

  // A poison event (its organization list cannot be decoded) is dead-lettered by the claim
  // itself, never leased, and does not hold back the good event claimed beside it.
  AmqpTestConsumer events{broker.url(), "zeva.events", "topic", "all-events", "#"};
  Sql(url,
      "INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, recipients)"
      " VALUES ('credits.journal.adjustment', 'poison', 1, '{NULL}', '{}')");
  REQUIRE(ledger.AdjustOne("dl-2", vs1, 2021, credits::CREDIT_CLASS_A, 100).status.ok());
  const auto received = events.WaitFor(1, 30s);
  REQUIRE(received.size() == 1);
  CHECK(nlohmann::json::parse(received[0].body)["actor"] == "test_gov_director");
  CHECK(WaitForSql(url,
                   "SELECT count(*) FROM outbox_events WHERE actor = 'poison' AND publish_dead_at "
                   "IS NOT NULL AND publish_error LIKE 'cannot decode:%'",
                   "1", 30s) == "1");
  // Dead at its first claim; later passes never take it again.
  CHECK(Sql(url, "SELECT publish_attempts FROM outbox_events WHERE actor = 'poison'") == "1");
  metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_outbox_dead_letters_total",
                    {"channel=\"publish\"", "reason=\"undecodable\""}) == 1);
  CHECK(worker->Log().find("dead-lettered on channel publish: cannot decode") != std::string::npos);

  // An operator re-queues the unroutable one now that a queue is bound: it is delivered.
  Sql(url,
      "UPDATE outbox_events SET publish_dead_at = NULL, publish_attempts = 0 WHERE actor <> "
      "'poison' AND published_at IS NULL");
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE published_at IS NULL", "1",
                   30s) == "1");  // only the poison event is left
  CHECK(events.WaitFor(2, 30s).size() == 2);
  // The gauge counts what the database holds dead (the monitor refreshes it every 2 s).
  double dead = -1;
  WaitUntil(
      [&] {
        dead = MetricValue(ScrapeMetrics(worker->metrics_port()), "zeva_outbox_dead_letter_events",
                           {"channel=\"publish\""});
        return dead == 1;
      },
      30s, 200ms);
  CHECK(dead == 1);
}

TEST_CASE("with credentials, a mail server without STARTTLS never gets the password", "[worker]") {
  Outbox o;
  // The sink offers AUTH but no STARTTLS, as if a man in the middle had stripped it.
  const std::string with_password =
      "smtp://zeva-mailer:hunter2@127.0.0.1:" + std::to_string(o.smtp.port());
  auto worker = o.StartWorker(false, {{"SMTP_URL", with_password}, {"MAIL_DISABLED", "false"}});
  o.Adjust(100);  // two recipients with an address
  const std::string url = o.service.database_url();
  CHECK(WaitForSql(url,
                   "SELECT count(*) FROM outbox_events WHERE mail_error LIKE '%STARTTLS%' AND "
                   "mail_attempts >= 2",
                   "1", 30s) == "1");
  CHECK(o.smtp.AuthCommands() == 0);
  CHECK(o.smtp.Mails().empty());
  CHECK(Sql(url, "SELECT count(*) FROM outbox_events WHERE mailed_at IS NULL") == "1");
  // RabbitMQ is unaffected, and the log says why mail waits, without the password.
  CHECK(o.events.WaitFor(1, 30s).size() == 1);
  CHECK(worker->Log().find("offers no STARTTLS") != std::string::npos);
  CHECK(worker->Log().find("hunter2") == std::string::npos);
  CHECK(worker->StopWith(SIGTERM, 15s) == 0);

  // The mail waited: a worker allowed to send without TLS (no credentials) delivers it.
  auto plain = o.StartWorker(true);
  CHECK(o.smtp.WaitForMails(2, 30s));
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE mailed_at IS NULL", "0", 30s) ==
        "0");
  CHECK(o.smtp.AuthCommands() == 0);
}

TEST_CASE("a worker without SMTP_URL leaves e-mail to the replicas that have it", "[worker]") {
  Outbox o;
  const std::string url = o.service.database_url();
  // A replica without SMTP_URL (and no MAIL_DISABLED), as in a rolling deploy.
  auto without = o.StartWorker(false, {{"MAIL_DISABLED", "false"}});
  o.Adjust(100);
  CHECK(o.events.WaitFor(1, 30s).size() == 1);
  CHECK(o.UndeliveredAfterSettling() == "0");
  CHECK(Sql(url, "SELECT count(*) FROM outbox_events WHERE mailed_at IS NULL") == "1");
  CHECK(without->Log().find("e-mail is left to replicas that have it") != std::string::npos);
  // A replica with SMTP_URL mails it.
  auto with = o.StartWorker(true);
  CHECK(o.smtp.WaitForMails(2, 30s));
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE mailed_at IS NULL", "0", 30s) ==
        "0");
  // MAIL_DISABLED (a deployment with no mail at all) marks e-mail done as it publishes.
  with.reset();
  without.reset();
  auto disabled = o.StartWorker(false);
  o.Adjust(100);
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE mailed_at IS NULL", "0", 30s) ==
        "0");
  CHECK(o.smtp.Mails().size() == 2);
}

TEST_CASE("the worker audits the ledger periodically and exports the violations", "[worker]") {
  Outbox o;
  o.Adjust(100);
  auto worker = o.StartWorker(false, {{"LEDGER_AUDIT_INTERVAL_SECONDS", "1"}});
  const auto violations = [&] {
    return MetricValue(ScrapeMetrics(worker->metrics_port()), "zeva_ledger_audit_violations");
  };
  // Sound at first; then a balance no journal explains, as only a writer outside the service
  // could make it (with the database's triggers off: 0018 refuses it otherwise).
  CHECK(worker->Log().find("ledger audit:") == std::string::npos);
  CHECK(violations() == 0);
  Sql(o.service.database_url(),
      "SET LOCAL session_replication_role = replica;"
      "UPDATE credit_accounts SET posted = posted + 7 WHERE organization_id = " +
          std::to_string(o.vs1));
  double found = 0;
  WaitUntil([&] { return (found = violations()) >= 1; }, 30s, 200ms);
  CHECK(found >= 1);
  CHECK(worker->Log().find("ledger audit: ") != std::string::npos);
}

namespace {

// How many copies of each message (by message_id) arrived.
std::map<std::string, int> Copies(const std::vector<ReceivedMessage>& messages) {
  std::map<std::string, int> copies;
  for (const auto& m : messages) ++copies[m.message_id];
  return copies;
}

// Every copy of a message is the same message: one body per message_id.
void CheckCopiesAlike(const std::vector<ReceivedMessage>& messages) {
  std::map<std::string, std::set<std::string>> bodies;
  for (const auto& m : messages) bodies[m.message_id].insert(m.body);
  for (const auto& [message_id, copies] : bodies) {
    INFO(message_id);
    CHECK(copies.size() == 1);
  }
}

// Hangs the broker (RabbitMqServer::Pause) until Resume or the end of the scope, so that the
// shared broker runs again whatever a case's REQUIREs do.
class PausedBroker {
 public:
  explicit PausedBroker(RabbitMqServer& broker) : broker_(broker) { broker_.Pause(); }
  ~PausedBroker() { Resume(); }
  PausedBroker(const PausedBroker&) = delete;
  PausedBroker& operator=(const PausedBroker&) = delete;
  void Resume() {
    if (paused_) broker_.Resume();
    paused_ = false;
  }

 private:
  RabbitMqServer& broker_;
  bool paused_ = true;
};

// Waits (bounded) until `worker` says it is connected to RabbitMQ.
bool ConnectedToBroker(ServerProcess& worker) {
  return WaitUntil(
      [&] {
        return MetricValue(ScrapeMetrics(worker.metrics_port()), "zeva_worker_broker_connected") ==
               1;
      },
      30s, 100ms);
}

// How many events are claimed (their `attempts`-th claim) and held: leased, neither published
// nor failed.
std::string HeldClaims(int attempts) {
  return "SELECT count(*) FROM outbox_events WHERE publish_attempts = " + std::to_string(attempts) +
         " AND published_at IS NULL AND publish_error IS NULL AND next_publish_at > now()";
}

// Commits three events (without recipients, in one commit: one claim takes them all) for
// `worker` to claim while the broker hangs, so that its confirm wait holds the claim; then
// stops the worker (SIGSTOP) while it holds them.
void StopHoldingClaim(ServerProcess& worker, const std::string& url) {
  Sql(url,
      "INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, recipients) "
      "SELECT 'credits.journal.adjustment', 'stall', g, '{}', '{}' FROM generate_series(1, 3) g");
  REQUIRE(WaitForSql(url, HeldClaims(1), "3", 10s) == "3");
  REQUIRE(kill(worker.pid(), SIGSTOP) == 0);
  // Stopped while holding the claim: its confirm wait had not run out.
  REQUIRE(Sql(url, HeldClaims(1)) == "3");
  REQUIRE(worker.Log().find("not confirmed in time") == std::string::npos);
}

}  // namespace

TEST_CASE("a nacked event is retried with back-off, then delivered once the queue has room",
          "[worker]") {
  // A downstream queue for transfer events that is full and refuses more (x-max-length 1,
  // x-overflow reject-publish, one message in it): RabbitMQ nacks every message routed to it.
  // The queue bound to every event (all-events, with room) still takes a copy of each; the
  // nack fails the publish all the same.
  Outbox o;
  const std::string url = o.service.database_url();
  const std::string full = "transfers" + o.queue_suffix;
  o.queues.push_back(full);
  const QueueArguments limit{{"x-max-length", int64_t{1}},
                             {"x-overflow", std::string("reject-publish")}};
  uint32_t ready = 0;
  REQUIRE(AsOperator(o.broker.port(), [&](amqp_connection_state_t conn) {
    if (!DeclareQueue(conn, full, limit).empty()) return;
    amqp_queue_bind(conn, 1, amqp_cstring_bytes(full.c_str()),
                    amqp_cstring_bytes(zeva::broker::kEventsExchange),
                    amqp_cstring_bytes("credits.transfer.*"), amqp_empty_table);
    amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(full.c_str()),
                       /*mandatory=*/0, /*immediate=*/0, nullptr, amqp_cstring_bytes("filler"));
  }));
  REQUIRE(WaitUntil(
      [&] {
        AsOperator(o.broker.port(),
                   [&](amqp_connection_state_t conn) { DeclareQueue(conn, full, limit, &ready); });
        return ready == 1;  // full
      },
      10s, 100ms));

  o.Adjust(100);  // credits.journal.adjustment: not for the full queue
  o.Create(100);  // credits.transfer.created: nacked
  o.Adjust(100);
  const auto stored = StoredEvents(url);
  REQUIRE(stored.size() == 3);
  const std::string nacked =
      Sql(url, "SELECT id FROM outbox_events WHERE event_type = 'credits.transfer.created'");
  const std::string where = " FROM outbox_events WHERE id = '" + nacked + "'";
  // All three in the worker's first batch.
  auto worker = o.StartWorker(false, {{"RETRY_INITIAL_MS", "200"}, {"RETRY_MAX_MS", "2000"}});

  // The nacked event's failure is its own: the others, in the same batch, acked, are recorded
  // published at once. The nacked one is not, but tried again and again, each time after its
  // own back-off, which doubles (200 ms, 400 ms, 800 ms, ...): from its third failure on, its
  // next attempt is due more than 500 ms ahead (a claim's lease is 4 s).
  CHECK(WaitForSql(url,
                   "SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL AND "
                   "event_type = 'credits.journal.adjustment' AND publish_attempts = 1",
                   "2", 30s) == "2");
  REQUIRE(WaitForSql(url, "SELECT publish_attempts >= 3" + where, "t", 30s) == "t");
  CHECK(WaitForSql(url,
                   "SELECT next_publish_at > now() + interval '500 ms' AND next_publish_at < "
                   "now() + interval '3 s'" +
                       where,
                   "t", 10s) == "t");
  CHECK(Sql(url, "SELECT published_at IS NULL AND publish_dead_at IS NULL" + where) == "t");
  CHECK(Sql(url, "SELECT publish_error" + where).rfind("RabbitMQ refused (nack) 1 of 1", 0) == 0);
  std::string metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_worker_confirms_total", {"result=\"nack\""}) >= 2);
  CHECK(MetricValue(metrics, "zeva_worker_delivery_failures_total",
                    {"channel=\"publish\"", "reason=\"nacked\""}) >= 2);

  // The downstream consumer takes the filler: the queue has room, the next attempt is acked.
  AmqpTestConsumer downstream(o.broker.url(), zeva::broker::kEventsExchange, "topic", full,
                              "credits.transfer.*", limit);
  REQUIRE(downstream.WaitFor(2, 30s).size() >= 2);
  CHECK(o.UndeliveredAfterSettling() == "0");
  // Exactly once there: the attempts it refused left nothing in it, and once recorded the
  // event is not published again.
  const auto received = downstream.Drain(500ms);
  REQUIRE(received.size() == 2);
  CHECK(received[0].body == "filler");
  CHECK(received[1].message_id == nacked);
  CHECK(Sql(url, "SELECT publish_error IS NULL AND publish_dead_at IS NULL" + where) == "t");
  const int attempts = std::stoi(Sql(url, "SELECT publish_attempts" + where));
  CHECK(attempts >= 3);

  // At least once where there was room: all-events got a copy at every attempt, each the same
  // message; the other events exactly once, none lost.
  WaitForIds(o.events, Keys(stored), 30s);
  const auto events = o.events.Drain(500ms);
  CHECK(DistinctIds(events) == Keys(stored));
  CheckCopiesAlike(events);
  for (const auto& [event_id, copies] : Copies(events)) {
    INFO(event_id);
    CHECK(copies == (event_id == nacked ? attempts : 1));
  }
  // Every refused attempt counted: one nack and one failure each; every other message acked
  // (three events, two adjustments with two recipients each).
  metrics = ScrapeMetrics(worker->metrics_port());
  CHECK(MetricValue(metrics, "zeva_worker_confirms_total", {"result=\"nack\""}) == attempts - 1);
  CHECK(MetricValue(metrics, "zeva_worker_delivery_failures_total",
                    {"channel=\"publish\"", "reason=\"nacked\""}) == attempts - 1);
  CHECK(MetricValue(metrics, "zeva_worker_confirms_total", {"result=\"ack\""}) == 3 + 4);
  CHECK(MetricValue(metrics, "zeva_worker_events_delivered_total", {"channel=\"publish\""}) == 3);
}

TEST_CASE("a worker that stalls past its lease: another delivers, the stale one changes nothing",
          "[worker]") {
  // Worker a claims three events and publishes them while the broker hangs (paused), so that
  // it holds its claim, waiting for confirms; it is then stopped (SIGSTOP) past its lease.
  // Worker b takes the events after the lease and delivers them. Meanwhile the broker, running
  // again, has confirmed a's messages into a's socket: resumed, a reads them and records the
  // events published a second time, which must keep b's record (published_at, attempts, no
  // error, no dead letter). Delivery is at least once: a's messages reach RabbitMQ too, with
  // the same message_id and body as b's, so consumers can tell the duplicates.
  Outbox o;
  const std::string url = o.service.database_url();
  auto a = o.StartWorker(
      false, {{"OUTBOX_CLAIM_LEASE_MS", "5000"}, {"BROKER_CONFIRM_TIMEOUT_MS", "3000"}});
  // Connected before the broker hangs: a's claim needs a live connection.
  REQUIRE(ConnectedToBroker(*a));
  PausedBroker paused{o.broker};
  StopHoldingClaim(*a, url);
  paused.Resume();

  auto b = o.StartWorker(false);
  REQUIRE(WaitForSql(url,
                     "SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL AND "
                     "publish_attempts = 2",
                     "3", 20s) == "3");
  const std::string record =
      "SELECT string_agg(concat_ws(' ', id, published_at, publish_attempts, publish_error, "
      "publish_dead_at, next_publish_at, mailed_at), ',' ORDER BY seq) FROM outbox_events "
      "WHERE actor = 'stall'";
  const std::string recorded = Sql(url, record);
  REQUIRE(b->StopWith(SIGTERM, 15s) == 0);  // a is left alone

  REQUIRE(kill(a->pid(), SIGCONT) == 0);
  // a finishes its batch as if nothing happened. An event only a can deliver then shows that
  // a got past it (one lane thread), and that it works on.
  Sql(url,
      "INSERT INTO outbox_events (event_type, actor, journal_id, organization_ids, recipients) "
      "VALUES ('credits.journal.adjustment', 'after', 4, '{}', '{}')");
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE published_at IS NULL", "0",
                   20s) == "0");
  // a recorded the stale three again, and the new one.
  std::string metrics;
  REQUIRE(WaitUntil(
      [&] {
        metrics = ScrapeMetrics(a->metrics_port());
        return MetricValue(metrics, "zeva_worker_events_delivered_total",
                           {"channel=\"publish\""}) == 4;
      },
      10s, 100ms));
  CHECK(Sql(url, record) == recorded);
  CHECK(Sql(url,
            "SELECT count(*) FROM outbox_events WHERE actor = 'stall' AND publish_error IS NULL "
            "AND publish_dead_at IS NULL AND publish_attempts = 2") == "3");
  CHECK(MetricValue(metrics, "zeva_outbox_dead_letters_total", {"channel=\"publish\""}) == -1);

  // Every event reached RabbitMQ; the three stalled ones twice (a's copy and b's), alike.
  const auto stored = StoredEvents(url);
  REQUIRE(stored.size() == 4);
  WaitForIds(o.events, Keys(stored), 30s);
  const auto events = o.events.Drain(500ms);
  CHECK(DistinctIds(events) == Keys(stored));
  CheckCopiesAlike(events);
  const std::string last = Sql(url, "SELECT id FROM outbox_events WHERE actor = 'after'");
  for (const auto& [event_id, copies] : Copies(events)) {
    INFO(event_id);
    CHECK(copies == (event_id == last ? 1 : 2));
  }
}

TEST_CASE("a stalled worker that gives up after its lease leaves the new owner's claim alone",
          "[worker]") {
  // Worker a claims three events and publishes them while the broker hangs, then stalls
  // (SIGSTOP) past its lease; worker b takes them over and publishes them, the broker still
  // hanging. a resumes while b's claim is in flight: a's confirm wait has run out, and it
  // schedules retries of its batch. Those events are b's now: a must change nothing (not
  // make them due before b's lease ends, not dead-letter them, though a's OUTBOX_MAX_ATTEMPTS
  // of 2 is reached), and b records them published once the broker answers.
  Outbox o;
  const std::string url = o.service.database_url();
  auto a = o.StartWorker(false, {{"OUTBOX_CLAIM_LEASE_MS", "5000"},
                                 {"BROKER_CONFIRM_TIMEOUT_MS", "3000"},
                                 {"OUTBOX_MAX_ATTEMPTS", "2"}});
  // b waits for its confirms long enough for a to resume and fail meanwhile.
  auto b = o.StartWorker(
      false, {{"OUTBOX_CLAIM_LEASE_MS", "10000"}, {"BROKER_CONFIRM_TIMEOUT_MS", "8000"}});
  // Both connected before the broker hangs: a claim needs a live connection.
  REQUIRE(ConnectedToBroker(*a));
  REQUIRE(ConnectedToBroker(*b));
  REQUIRE(kill(b->pid(), SIGSTOP) == 0);  // so that a claims
  PausedBroker paused{o.broker};
  StopHoldingClaim(*a, url);

  REQUIRE(kill(b->pid(), SIGCONT) == 0);
  REQUIRE(WaitForSql(url, HeldClaims(2), "3", 15s) == "3");  // after a's lease
  const std::string record =
      "SELECT string_agg(concat_ws(' ', id, published_at, publish_attempts, publish_error, "
      "publish_dead_at, next_publish_at), ',' ORDER BY seq) FROM outbox_events";
  const std::string claimed = Sql(url, record);
  REQUIRE(kill(a->pid(), SIGCONT) == 0);
  // a gives up on its batch, schedules its retries, and then (one lane thread) tries to reach
  // the broker again.
  CHECK(WaitUntil(
      [&] {
        const std::string log = a->Log();
        const size_t failed = log.find("not confirmed in time");
        return failed != std::string::npos &&
               log.find("RabbitMQ unavailable", failed) != std::string::npos;
      },
      10s, 50ms));
  CHECK(Sql(url, record) == claimed);  // b's claim as it was
  CHECK(MetricValue(ScrapeMetrics(a->metrics_port()), "zeva_outbox_dead_letters_total",
                    {"channel=\"publish\""}) == -1);

  paused.Resume();
  CHECK(WaitForSql(url, "SELECT count(*) FROM outbox_events WHERE published_at IS NOT NULL", "3",
                   20s) == "3");
  CHECK(Sql(url,
            "SELECT count(*) FROM outbox_events WHERE publish_error IS NULL AND publish_dead_at "
            "IS NULL AND publish_attempts = 2") == "3");
  const auto stored = StoredEvents(url);
  const auto events = WaitForIds(o.events, Keys(stored), 30s);
  CHECK(DistinctIds(events) == Keys(stored));
  CheckCopiesAlike(events);
}
