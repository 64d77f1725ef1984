// The credit ledger through the real server and generated clients: visibility and roles,
// every error code and reason of the contract's ledger, admin and idempotency rules,
// exactness, concurrency against real PostgreSQL, and the database's own guards.

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "db/ledger_audit.h"
#include "tests/support/ledger_client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/service_fixture.h"

using namespace zeva::testing;
using grpc::StatusCode;

namespace {

constexpr uint32_t kYear = 2021;

struct Ledger {
  // Races here are between callers of one user: the per-user pool share would refuse some
  // of them RESOURCE_EXHAUSTED (tested in [hardening]); these tests are about the ledger.
  ServiceFixture service{{"--db-pool-caller-share-percent=100", "--db-acquire-timeout-ms=10000"}};
  LedgerClient client{service};
  uint64_t vs1 = OrganizationId(service.database_url(), "Test Vehicle Supplier 1");
  uint64_t vs2 = OrganizationId(service.database_url(), "Test Vehicle Supplier 2");
  uint64_t gov = OrganizationId(service.database_url(), "Government of British Columbia");

  // A BEV of `organization` whose stored credit value is `hundredths`.
  uint64_t Vehicle(uint64_t organization, const std::string& credits, const std::string& trim) {
    return std::stoull(Sql(service.database_url(),
                           "INSERT INTO vehicles (organization_id, type, make, model, \"trim\", "
                           "range, credits) VALUES (" +
                               std::to_string(organization) + ", 'BEV', 'Make', 'Model', '" + trim +
                               "', 300, " + credits + ") RETURNING id"));
  }

  credits::IssueCreditsRequest Issuance(const std::string& key, uint64_t organization,
                                        const std::string& reference,
                                        const std::vector<std::pair<uint64_t, uint32_t>>& lines) {
    credits::IssueCreditsRequest request;
    request.set_idempotency_key(key);
    request.set_organization_id(organization);
    request.set_reference(reference);
    for (const auto& [vehicle, quantity] : lines) {
      auto* line = request.add_lines();
      line->set_vehicle_id(vehicle);
      line->set_model_year(kYear);
      line->set_quantity(quantity);
    }
    return request;
  }

  // Available credits of `organization` for (kYear, class A), as GetBalances says.
  int64_t Available(uint64_t organization) {
    credits::GetBalancesResponse balances;
    REQUIRE(client.Balances("test_gov_1", organization, &balances).ok());
    for (const auto& b : balances.balances()) {
      if (b.model_year() == kYear && b.credit_class() == credits::CREDIT_CLASS_A) {
        return b.available().hundredths();
      }
    }
    return 0;
  }
};

#define CHECK_REFUSED(answer_status, code, reason)      \
  do {                                                  \
    const grpc::Status& s_ = (answer_status);           \
    INFO(s_.error_code() << " " << s_.error_message()); \
    CHECK(s_.error_code() == (code));                   \
    CHECK(ErrorReason(s_) == (reason));                 \
  } while (false)

}  // namespace

TEST_CASE("issuing 0.10, 0.20 and 1.05 credits gives exactly 1.35; entries add up to balances",
          "[ledger]") {
  Ledger l;
  const uint64_t a = l.Vehicle(l.vs1, "0.10", "a");
  const uint64_t b = l.Vehicle(l.vs1, "0.20", "b");
  const uint64_t c = l.Vehicle(l.vs1, "1.05", "c");
  auto issued = l.client.Issue("test_gov_director",
                               l.Issuance("k1", l.vs1, "sales/2021-1", {{a, 1}, {b, 1}, {c, 1}}));
  INFO(issued.status.error_message());
  REQUIRE(issued.status.ok());
  CHECK(issued.journal.kind() == credits::JOURNAL_KIND_ISSUANCE);
  CHECK(issued.journal.reference() == "sales/2021-1");
  CHECK(issued.journal.posted_by() == "test_gov_director");
  REQUIRE(issued.journal.entries_size() == 2);  // one per organization and key
  CHECK(l.Available(l.vs1) == 135);

  // The government's side is the counterparty: minus the suppliers' total.
  credits::GetBalancesResponse government;
  REQUIRE(l.client.Balances("test_gov_director", 0, &government).ok());
  CHECK(government.organization_id() == l.gov);
  REQUIRE(government.balances_size() == 1);
  CHECK(government.balances(0).posted().hundredths() == -135);

  // A supplier sees its own balances with class totals.
  credits::GetBalancesResponse own;
  REQUIRE(l.client.Balances("test_vs_1", 0, &own).ok());
  REQUIRE(own.balances_size() == 1);
  CHECK(own.balances(0).model_year() == kYear);
  CHECK(own.balances(0).credit_class() == credits::CREDIT_CLASS_A);
  CHECK(own.balances(0).posted().hundredths() == 135);
  CHECK(own.balances(0).reserved().hundredths() == 0);
  REQUIRE(own.class_totals_size() == 1);
  CHECK(own.class_totals(0).available().hundredths() == 135);

  // Repeated vehicles and quantities add up; the sum of the entries is the balance.
  REQUIRE(l.client
              .Issue("test_gov_director",
                     l.Issuance("k2", l.vs1, "sales/2021-2", {{a, 7}, {a, 3}, {c, 20}}))
              .status.ok());
  std::vector<credits::LedgerEntry> entries;
  REQUIRE(l.client.Entries("test_vs_1", {}, &entries).ok());
  int64_t sum = 0;
  for (const auto& e : entries) sum += e.amount().hundredths();
  CHECK(sum == l.Available(l.vs1));
  CHECK(sum == 135 + 100 + 2100);
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("who may read which ledger", "[ledger]") {
  Ledger l;
  const uint64_t v = l.Vehicle(l.vs1, "2.00", "v");
  auto issued = l.client.Issue("test_gov_director", l.Issuance("k", l.vs1, "r", {{v, 5}}));
  REQUIRE(issued.status.ok());
  credits::GetBalancesResponse balances;
  // A supplier naming another organization: PERMISSION_DENIED.
  CHECK_REFUSED(l.client.Balances("test_vs_2", l.vs1, &balances), StatusCode::PERMISSION_DENIED,
                "PERMISSION_DENIED");
  // Government naming an organization that does not exist: NOT_FOUND.
  CHECK_REFUSED(l.client.Balances("test_gov_1", 987654, &balances), StatusCode::NOT_FOUND,
                "NOT_FOUND");
  // Government reads any organization's; another supplier has nothing.
  REQUIRE(l.client.Balances("test_gov_1", l.vs1, &balances).ok());
  CHECK(balances.balances(0).posted().hundredths() == 1000);
  credits::GetBalancesResponse empty;
  REQUIRE(l.client.Balances("test_vs_2", 0, &empty).ok());
  CHECK(empty.balances_size() == 0);

  // Journals: the supplier with an entry sees its own entries only; another gets NOT_FOUND.
  auto own = l.client.Journal("test_vs_1", issued.journal.id());
  REQUIRE(own.status.ok());
  REQUIRE(own.journal.entries_size() == 1);
  CHECK(own.journal.entries(0).organization_id() == l.vs1);
  CHECK_REFUSED(l.client.Journal("test_vs_2", issued.journal.id()).status, StatusCode::NOT_FOUND,
                "NOT_FOUND");
  CHECK_REFUSED(l.client.Journal("test_vs_1", 987654).status, StatusCode::NOT_FOUND, "NOT_FOUND");
  auto whole = l.client.Journal("test_gov_1", issued.journal.id());
  REQUIRE(whole.status.ok());
  CHECK(whole.journal.entries_size() == 2);

  // Entries: own by default, paged by after_id and limit; another's is PERMISSION_DENIED.
  std::vector<credits::LedgerEntry> entries;
  credits::ListLedgerEntriesRequest others;
  others.set_organization_id(l.vs1);
  CHECK(l.client.Entries("test_vs_2", others, &entries).error_code() ==
        StatusCode::PERMISSION_DENIED);
  REQUIRE(l.client.Issue("test_gov_director", l.Issuance("k2", l.vs1, "r2", {{v, 1}})).status.ok());
  REQUIRE(l.client.Issue("test_gov_director", l.Issuance("k3", l.vs1, "r3", {{v, 1}})).status.ok());
  entries.clear();
  credits::ListLedgerEntriesRequest page;
  page.set_limit(2);
  REQUIRE(l.client.Entries("test_vs_1", page, &entries).ok());
  REQUIRE(entries.size() == 2);
  page.set_after_id(entries[1].id());
  std::vector<credits::LedgerEntry> rest;
  REQUIRE(l.client.Entries("test_vs_1", page, &rest).ok());
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].id() > entries[1].id());
  CHECK(rest[0].reference() == "r3");
  CHECK(rest[0].kind() == credits::JOURNAL_KIND_ISSUANCE);
}

TEST_CASE("only government DIRECTORs administer credits", "[ledger]") {
  Ledger l;
  const uint64_t v = l.Vehicle(l.vs1, "1.00", "v");
  for (const char* user : {"test_vs_1", "test_vs_1_user", "test_gov_1"}) {
    INFO(user);
    CHECK_REFUSED(l.client.Issue(user, l.Issuance("k", l.vs1, "r", {{v, 1}})).status,
                  StatusCode::PERMISSION_DENIED, "PERMISSION_DENIED");
  }
  credits::AdjustCreditsRequest adjust;
  adjust.set_idempotency_key("a");
  adjust.set_organization_id(l.vs1);
  adjust.set_reason("r");
  auto* line = adjust.add_lines();
  line->set_model_year(kYear);
  line->set_credit_class(credits::CREDIT_CLASS_A);
  line->mutable_amount()->set_hundredths(5);
  CHECK_REFUSED(l.client.Adjust("test_gov_1", adjust).status, StatusCode::PERMISSION_DENIED,
                "PERMISSION_DENIED");
  auto issued = l.client.Issue("test_gov_director", l.Issuance("i", l.vs1, "r", {{v, 1}}));
  REQUIRE(issued.status.ok());
  credits::ReverseJournalRequest reverse;
  reverse.set_idempotency_key("x");
  reverse.set_journal_id(issued.journal.id());
  reverse.set_reason("mistake");
  // A supplier that can see the journal: PERMISSION_DENIED; one that cannot: NOT_FOUND.
  CHECK_REFUSED(l.client.Reverse("test_vs_1", reverse).status, StatusCode::PERMISSION_DENIED,
                "PERMISSION_DENIED");
  CHECK_REFUSED(l.client.Reverse("test_vs_2", reverse).status, StatusCode::NOT_FOUND, "NOT_FOUND");
  CHECK_REFUSED(l.client.Reverse("test_gov_1", reverse).status, StatusCode::PERMISSION_DENIED,
                "PERMISSION_DENIED");
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("malformed admin requests are INVALID_ARGUMENT naming the field", "[ledger]") {
  Ledger l;
  const uint64_t v = l.Vehicle(l.vs1, "1.00", "v");
  const uint64_t other = l.Vehicle(l.vs2, "1.00", "o");
  const uint64_t hybrid =
      std::stoull(Sql(l.service.database_url(), "SELECT id FROM vehicles WHERE type = 'HEV'"));
  struct Case {
    std::string name;
    credits::IssueCreditsRequest request;
    std::string field;
  };
  std::vector<Case> cases;
  auto base = [&] { return l.Issuance("k", l.vs1, "ref", {{v, 1}}); };
  cases.push_back({"no key", base(), "idempotency_key"});
  cases.back().request.clear_idempotency_key();
  cases.push_back({"key too long", base(), "idempotency_key"});
  cases.back().request.set_idempotency_key(std::string(129, 'k'));
  cases.push_back({"government as supplier", base(), "organization_id"});
  cases.back().request.set_organization_id(l.gov);
  cases.push_back({"no organization", base(), "organization_id"});
  cases.back().request.set_organization_id(0);
  cases.push_back({"no reference", base(), "reference"});
  cases.back().request.set_reference(" ");
  cases.push_back({"reference too long", base(), "reference"});
  cases.back().request.set_reference(std::string(101, 'r'));
  cases.push_back({"no lines", base(), "lines"});
  cases.back().request.clear_lines();
  cases.push_back({"old model year", base(), "lines[0].model_year"});
  cases.back().request.mutable_lines(0)->set_model_year(2018);
  cases.push_back({"quantity 0", base(), "lines[0].quantity"});
  cases.back().request.mutable_lines(0)->set_quantity(0);
  cases.push_back({"quantity too large", base(), "lines[0].quantity"});
  cases.back().request.mutable_lines(0)->set_quantity(1000001);
  cases.push_back({"another supplier's vehicle", base(), "lines[1].vehicle_id"});
  *cases.back().request.add_lines() = cases.back().request.lines(0);
  cases.back().request.mutable_lines(1)->set_vehicle_id(other);
  cases.push_back({"class C vehicle", base(), "lines[0].vehicle_id"});
  cases.back().request.mutable_lines(0)->set_vehicle_id(hybrid);
  for (auto& c : cases) {
    INFO(c.name);
    const grpc::Status status = l.client.Issue("test_gov_director", c.request).status;
    CHECK_REFUSED(status, StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT");
    CHECK(ErrorField(status) == c.field);
    CHECK(status.error_message().find(c.field) == 0);
  }
  // Adjustments: reason, a zero amount, a repeated key, an unspecified class.
  auto adjust = [&](const std::function<void(credits::AdjustCreditsRequest&)>& edit) {
    credits::AdjustCreditsRequest request;
    request.set_idempotency_key("adj");
    request.set_organization_id(l.vs1);
    request.set_reason("correction");
    auto* line = request.add_lines();
    line->set_model_year(kYear);
    line->set_credit_class(credits::CREDIT_CLASS_B);
    line->mutable_amount()->set_hundredths(5);
    edit(request);
    return l.client.Adjust("test_gov_director", request).status;
  };
  CHECK(ErrorField(adjust([](auto& r) { r.set_reason(""); })) == "reason");
  CHECK(ErrorField(adjust([](auto& r) {
          r.mutable_lines(0)->mutable_amount()->set_hundredths(0);
        })) == "lines[0].amount");
  CHECK(ErrorField(adjust([](auto& r) { *r.add_lines() = r.lines(0); })) == "lines[1].model_year");
  CHECK(ErrorField(adjust([](auto& r) {
          r.mutable_lines(0)->set_credit_class(credits::CREDIT_CLASS_UNSPECIFIED);
        })) == "lines[0].credit_class");
  // Nothing was written by any of them.
  CHECK(Sql(l.service.database_url(), "SELECT count(*) FROM credit_journals") == "0");
  CHECK(Sql(l.service.database_url(), "SELECT count(*) FROM idempotency_records") == "0");
}

TEST_CASE("adjustments and reversals never take a supplier below zero", "[ledger]") {
  Ledger l;
  REQUIRE(l.client.AdjustOne("plus", l.vs1, kYear, credits::CREDIT_CLASS_A, 500).status.ok());
  auto minus = l.client.AdjustOne("minus", l.vs1, kYear, credits::CREDIT_CLASS_A, -501);
  CHECK_REFUSED(minus.status, StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_CREDITS");
  CHECK(minus.status.error_message().find("2021 A") != std::string::npos);
  auto spend = l.client.AdjustOne("spend", l.vs1, kYear, credits::CREDIT_CLASS_A, -400);
  REQUIRE(spend.status.ok());
  CHECK(spend.journal.kind() == credits::JOURNAL_KIND_ADJUSTMENT);
  CHECK(spend.journal.reason() == "test adjustment");
  CHECK(spend.journal.reference().empty());
  CHECK(l.Available(l.vs1) == 100);
  // Reversing the +5.00 would leave -4.00: refused.
  auto plus_journal = Sql(l.service.database_url(),
                          "SELECT min(id) FROM credit_journals WHERE kind = 'ADJUSTMENT'");
  credits::ReverseJournalRequest reverse;
  reverse.set_idempotency_key("rev");
  reverse.set_journal_id(std::stoull(plus_journal));
  reverse.set_reason("entered twice");
  CHECK_REFUSED(l.client.Reverse("test_gov_director", reverse).status,
                StatusCode::FAILED_PRECONDITION, "INSUFFICIENT_CREDITS");
  // Reversing the -4.00 gives them back, links both ways, and happens at most once.
  reverse.set_idempotency_key("rev2");
  reverse.set_journal_id(spend.journal.id());
  auto reversed = l.client.Reverse("test_gov_director", reverse);
  REQUIRE(reversed.status.ok());
  CHECK(reversed.journal.kind() == credits::JOURNAL_KIND_REVERSAL);
  CHECK(reversed.journal.reverses_journal_id() == spend.journal.id());
  CHECK(reversed.journal.reference() == "reversal/" + std::to_string(spend.journal.id()));
  CHECK(reversed.journal.reason() == "entered twice");
  CHECK(l.Available(l.vs1) == 500);
  auto original = l.client.Journal("test_gov_1", spend.journal.id());
  CHECK(original.journal.reversed_by_journal_id() == reversed.journal.id());
  reverse.set_idempotency_key("rev3");
  CHECK_REFUSED(l.client.Reverse("test_gov_director", reverse).status,
                StatusCode::FAILED_PRECONDITION, "ALREADY_REVERSED");
  reverse.set_idempotency_key("rev4");
  reverse.set_journal_id(reversed.journal.id());
  CHECK_REFUSED(l.client.Reverse("test_gov_director", reverse).status,
                StatusCode::FAILED_PRECONDITION, "INVALID_STATUS");
  reverse.set_idempotency_key("rev5");
  reverse.set_journal_id(987654);
  CHECK_REFUSED(l.client.Reverse("test_gov_director", reverse).status, StatusCode::NOT_FOUND,
                "NOT_FOUND");
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("idempotency: replay returns the stored journal, another request is ALREADY_EXISTS",
          "[ledger]") {
  Ledger l;
  const uint64_t v = l.Vehicle(l.vs1, "1.00", "v");
  const auto request = l.Issuance("same-key", l.vs1, "ref-1", {{v, 2}});
  auto first = l.client.Issue("test_gov_director", request);
  REQUIRE(first.status.ok());
  auto again = l.client.Issue("test_gov_director", request);
  REQUIRE(again.status.ok());
  CHECK(again.journal.id() == first.journal.id());
  CHECK(again.journal.entries_size() == first.journal.entries_size());
  CHECK(l.Available(l.vs1) == 200);
  // The same key for a different request.
  auto different = l.Issuance("same-key", l.vs1, "ref-2", {{v, 2}});
  CHECK_REFUSED(l.client.Issue("test_gov_director", different).status, StatusCode::ALREADY_EXISTS,
                "IDEMPOTENCY_KEY_REUSED");
  // Idempotency is checked before validation: a reused key with a bad request says so.
  different.set_reference("");
  CHECK_REFUSED(l.client.Issue("test_gov_director", different).status, StatusCode::ALREADY_EXISTS,
                "IDEMPOTENCY_KEY_REUSED");
  // The same reference under a new key: DUPLICATE_REFERENCE, also after a reversal.
  const auto duplicate = l.Issuance("other-key", l.vs1, "ref-1", {{v, 1}});
  CHECK_REFUSED(l.client.Issue("test_gov_director", duplicate).status, StatusCode::ALREADY_EXISTS,
                "DUPLICATE_REFERENCE");
  credits::ReverseJournalRequest reverse;
  reverse.set_idempotency_key("reverse-it");
  reverse.set_journal_id(first.journal.id());
  reverse.set_reason("wrong sales file");
  auto reversed = l.client.Reverse("test_gov_director", reverse);
  REQUIRE(reversed.status.ok());
  const auto after_reversal = l.Issuance("third-key", l.vs1, "ref-1", {{v, 1}});
  CHECK_REFUSED(l.client.Issue("test_gov_director", after_reversal).status,
                StatusCode::ALREADY_EXISTS, "DUPLICATE_REFERENCE");
  // Keys are per user: another director-free user's key space is separate; a failed request
  // stored nothing, so the key that failed works for a valid request.
  auto adjusted = l.client.AdjustOne("third-key", l.vs1, kYear, credits::CREDIT_CLASS_B, 10);
  CHECK(adjusted.status.ok());
  // After later changes (both journals reversed), replays answer with the stored responses,
  // byte for byte, and post nothing.
  credits::ReverseJournalRequest reverse_adjustment;
  reverse_adjustment.set_idempotency_key("reverse-adjustment");
  reverse_adjustment.set_journal_id(adjusted.journal.id());
  reverse_adjustment.set_reason("typo");
  REQUIRE(l.client.Reverse("test_gov_director", reverse_adjustment).status.ok());
  const std::string journals =
      Sql(l.service.database_url(), "SELECT count(*) FROM credit_journals");
  auto issued_again = l.client.Issue("test_gov_director", request);
  REQUIRE(issued_again.status.ok());
  CHECK(issued_again.journal.reversed_by_journal_id() == 0);
  CHECK(WireBytes(issued_again.journal) == WireBytes(first.journal));
  auto adjusted_again = l.client.AdjustOne("third-key", l.vs1, kYear, credits::CREDIT_CLASS_B, 10);
  REQUIRE(adjusted_again.status.ok());
  CHECK(WireBytes(adjusted_again.journal) == WireBytes(adjusted.journal));
  auto reversed_again = l.client.Reverse("test_gov_director", reverse);
  REQUIRE(reversed_again.status.ok());
  CHECK(WireBytes(reversed_again.journal) == WireBytes(reversed.journal));
  CHECK(Sql(l.service.database_url(), "SELECT count(*) FROM credit_journals") == journals);
  CHECK(l.Available(l.vs1) == 0);
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("64 concurrent -1.00 adjustments against 10.00: exactly 10 succeed", "[ledger]") {
  Ledger l;
  REQUIRE(l.client.AdjustOne("fund", l.vs1, kYear, credits::CREDIT_CLASS_A, 1000).status.ok());
  std::vector<grpc::Status> results(64);
  std::vector<std::thread> callers;
  for (int i = 0; i < 64; ++i) {
    callers.emplace_back([&, i] {
      results[i] =
          l.client
              .AdjustOne("debit-" + std::to_string(i), l.vs1, kYear, credits::CREDIT_CLASS_A, -100)
              .status;
    });
  }
  for (auto& caller : callers) caller.join();
  int ok = 0;
  int short_of_credits = 0;
  for (const auto& status : results) {
    if (status.ok()) ++ok;
    if (status.error_code() == StatusCode::FAILED_PRECONDITION &&
        ErrorReason(status) == "INSUFFICIENT_CREDITS") {
      ++short_of_credits;
    }
  }
  CHECK(ok == 10);
  CHECK(short_of_credits == 54);
  CHECK(l.Available(l.vs1) == 0);
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("32 concurrent reversals of one journal post exactly one", "[ledger]") {
  Ledger l;
  auto fund = l.client.AdjustOne("fund", l.vs1, kYear, credits::CREDIT_CLASS_A, 1000);
  REQUIRE(fund.status.ok());
  std::vector<grpc::Status> results(32);
  std::vector<std::thread> callers;
  for (int i = 0; i < 32; ++i) {
    callers.emplace_back([&, i] {
      credits::ReverseJournalRequest reverse;
      reverse.set_idempotency_key("reverse-" + std::to_string(i));
      reverse.set_journal_id(fund.journal.id());
      reverse.set_reason("race");
      results[i] = l.client.Reverse("test_gov_director", reverse).status;
    });
  }
  for (auto& caller : callers) caller.join();
  int ok = 0;
  int already = 0;
  for (const auto& status : results) {
    if (status.ok()) ++ok;
    if (ErrorReason(status) == "ALREADY_REVERSED") ++already;
  }
  CHECK(ok == 1);
  CHECK(already == 31);
  CHECK(Sql(l.service.database_url(),
            "SELECT count(*) FROM credit_journals WHERE kind = 'REVERSAL'") == "1");
  CHECK(l.Available(l.vs1) == 0);
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("64 concurrent issuances with one key post one journal and all return it", "[ledger]") {
  Ledger l;
  const uint64_t v = l.Vehicle(l.vs1, "1.25", "v");
  const auto request = l.Issuance("one-key", l.vs1, "sales/raced", {{v, 4}});
  std::vector<JournalAnswer> results(64);
  std::vector<std::thread> callers;
  for (int i = 0; i < 64; ++i) {
    callers.emplace_back([&, i] { results[i] = l.client.Issue("test_gov_director", request); });
  }
  for (auto& caller : callers) caller.join();
  std::set<uint64_t> ids;
  std::set<std::string> responses;  // every duplicate answers with the first one's bytes
  for (const auto& r : results) {
    INFO(r.status.error_message());
    CHECK(r.status.ok());
    ids.insert(r.journal.id());
    responses.insert(WireBytes(r.journal));
  }
  CHECK(ids.size() == 1);
  CHECK(responses.size() == 1);
  CHECK(Sql(l.service.database_url(), "SELECT count(*) FROM credit_journals") == "1");
  CHECK(l.Available(l.vs1) == 500);
  CHECK(LedgerViolations(l.service.database_url()).empty());
}

TEST_CASE("the database refuses what the code must never do", "[ledger]") {
  Ledger l;
  REQUIRE(l.client.AdjustOne("fund", l.vs1, kYear, credits::CREDIT_CLASS_A, 300).status.ok());
  const std::string url = l.service.database_url();
  // Ledger rows are append-only, for the tables' owner too (the service's role here).
  CHECK_THROWS_WITH(Sql(url, "UPDATE credit_ledger_entries SET amount = amount + 1"),
                    Catch::Contains("append-only"));
  CHECK_THROWS_WITH(Sql(url, "DELETE FROM credit_ledger_entries"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(Sql(url, "UPDATE credit_journals SET reason = 'x'"),
                    Catch::Contains("append-only"));
  CHECK_THROWS_WITH(Sql(url, "DELETE FROM credit_journals"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(Sql(url, "TRUNCATE credit_ledger_entries"), Catch::Contains("append-only"));
  // A supplier's available never below zero, whatever the code does.
  CHECK_THROWS_WITH(Sql(url, "UPDATE credit_accounts SET reserved = posted + 1"),
                    Catch::Contains("credit_accounts_available_not_negative"));
  // A journal that does not sum to zero cannot commit.
  CHECK_THROWS_WITH(
      Sql(url,
          "WITH j AS (INSERT INTO credit_journals (kind, posted_by, reason) VALUES "
          "('ADJUSTMENT', 'x', 'y') RETURNING id) INSERT INTO credit_ledger_entries "
          "(journal_id, organization_id, model_year, credit_class, amount) SELECT id, " +
              std::to_string(l.gov) + ", 2021, 'A', 5 FROM j"),
      Catch::Contains("does not sum to zero"));
  // No account for the government: its side is derived.
  CHECK_THROWS_WITH(Sql(url,
                        "INSERT INTO credit_accounts (organization_id, model_year, "
                        "credit_class) VALUES (" +
                            std::to_string(l.gov) + ", 2021, 'A')"),
                    Catch::Contains("vehicle suppliers only"));
  CHECK(LedgerViolations(url).empty());
}

TEST_CASE("the database refuses a commit where posted differs from the sum of the entries",
          "[ledger]") {
  Ledger l;
  const std::string url = l.service.database_url();
  const std::string vs1 = std::to_string(l.vs1);
  const std::string gov = std::to_string(l.gov);
  REQUIRE(l.client.AdjustOne("before", l.vs1, kYear, credits::CREDIT_CLASS_A, 500).status.ok());
  // A balanced journal of vs1 +`amount` against the government, as raw SQL.
  const auto journal = [&](int64_t amount) {
    const std::string a = std::to_string(amount);
    return "WITH j AS (INSERT INTO credit_journals (kind, posted_by, reason) VALUES "
           "('ADJUSTMENT', 'psql', 'by hand') RETURNING id) INSERT INTO credit_ledger_entries "
           "(journal_id, organization_id, model_year, credit_class, amount) SELECT id, " +
           vs1 + ", 2021, 'A'::credit_class, " + a + " FROM j UNION ALL SELECT id, " + gov +
           ", 2021, 'A', -" + a + " FROM j;";
  };
  const std::string raise_posted =
      "UPDATE credit_accounts SET posted = posted + 7 WHERE "
      "organization_id = " +
      vs1 + ";";
  const auto refused = [&](const std::string& key) {
    return Catch::Contains("credit account " + vs1 + " " + key +
                           ": posted differs from the sum of its entries");
  };
  // posted changed without entries; entries without posted; a new account holding credits no
  // entry explains; a change of the key that carries posted to another account.
  {
    // Statement by statement it is accepted: the check runs at commit.
    pqxx::connection connection(url);
    pqxx::work tx(connection);
    tx.exec(raise_posted);
    CHECK_THROWS_WITH(tx.commit(), refused("2021 A"));
  }
  CHECK_THROWS_WITH(Sql(url, journal(7)), refused("2021 A"));
  CHECK_THROWS_WITH(Sql(url, journal(7) +
                                 "UPDATE credit_accounts SET posted = posted + 8 WHERE "
                                 "organization_id = " +
                                 vs1),
                    refused("2021 A"));
  CHECK_THROWS_WITH(Sql(url,
                        "INSERT INTO credit_accounts (organization_id, model_year, credit_class, "
                        "posted) VALUES (" +
                            vs1 + ", 2022, 'B', 5)"),
                    refused("2022 B"));
  CHECK_THROWS_WITH(
      Sql(url, "UPDATE credit_accounts SET model_year = 2023 WHERE organization_id = " + vs1),
      refused("2023 A"));
  CHECK(l.Available(l.vs1) == 500);
  // Both together, in either order and in separate statements, commit.
  Sql(url, journal(7) + raise_posted);
  Sql(url, raise_posted + journal(7));
  CHECK(l.Available(l.vs1) == 514);
  // The service's postings still commit; the audit holds.
  REQUIRE(l.client.AdjustOne("after", l.vs1, kYear, credits::CREDIT_CLASS_A, -14).status.ok());
  REQUIRE(l.client.AdjustOne("other", l.vs2, kYear, credits::CREDIT_CLASS_B, 3).status.ok());
  CHECK(l.Available(l.vs1) == 500);
  CHECK(LedgerViolations(url, /*outbox=*/false).empty());
}

TEST_CASE("GetCurrentUser: organization, the roles of its side, e-mail", "[ledger]") {
  Ledger l;
  auto stub = credits::IdentityService::NewStub(l.service.channel());
  std::map<std::string, std::vector<std::string>> expected = {
      {"test_vs_1", {"SIGNING_AUTHORITY", "ZEVA_USER"}},
      {"test_vs_1_user", {"ZEVA_USER"}},
      {"test_gov_1", {"ENGINEER_ANALYST"}},
      {"test_gov_director", {"DIRECTOR"}}};
  for (const auto& [user, roles] : expected) {
    auto context = l.service.ContextFor(user);
    credits::CurrentUser current;
    REQUIRE(stub->GetCurrentUser(context.get(), {}, &current).ok());
    CHECK(current.username() == user);
    CHECK(current.email() == user + "@example.test");
    CHECK(std::vector<std::string>(current.roles().begin(), current.roles().end()) == roles);
    const bool government = user.rfind("test_gov", 0) == 0;
    CHECK(current.organization().type() == (government
                                                ? credits::ORGANIZATION_TYPE_GOVERNMENT
                                                : credits::ORGANIZATION_TYPE_VEHICLE_SUPPLIER));
    CHECK(current.organization().id() == (government ? l.gov : l.vs1));
  }
  // A role of the other side counts for nothing.
  Sql(l.service.database_url(), "INSERT INTO user_roles VALUES ('test_vs_2', 'DIRECTOR')");
  auto context = l.service.ContextFor("test_vs_2");
  credits::CurrentUser current;
  REQUIRE(stub->GetCurrentUser(context.get(), {}, &current).ok());
  CHECK(std::vector<std::string>(current.roles().begin(), current.roles().end()) ==
        std::vector<std::string>{"SIGNING_AUTHORITY", "ZEVA_USER"});
}

TEST_CASE("10^6 entries of one supplier: a flat stream, and balances read the same few rows",
          "[ledger]") {
  Ledger l;
  const std::string url = l.service.database_url();
  const std::string vs1 = std::to_string(l.vs1);
  const std::string gov = std::to_string(l.gov);
  // 10^6 one-hundredth issuances to Test Vehicle Supplier 1 (triggers off for the bulk load:
  // each journal is built balanced, and the account row is set to the sum).
  Sql(url,
      "SET LOCAL session_replication_role = replica;"
      "INSERT INTO credit_journals (kind, reference, posted_by, issued_to) "
      "SELECT 'ISSUANCE', 'bulk/' || g, 'bulk', " +
          vs1 +
          " FROM generate_series(1, 1000000) g;"
          "INSERT INTO credit_ledger_entries (journal_id, organization_id, model_year, "
          "credit_class, "
          "amount) SELECT id, " +
          vs1 +
          ", 2021, 'A'::credit_class, 1 FROM credit_journals UNION ALL "
          "SELECT id, " +
          gov +
          ", 2021, 'A', -1 FROM credit_journals;"
          "INSERT INTO credit_accounts (organization_id, model_year, credit_class, posted) VALUES "
          "(" +
          vs1 + ", 2021, 'A', 1000000);");
  Sql(url, "ANALYZE");
  // Ten for the other supplier, through the server.
  for (int i = 0; i < 10; ++i) {
    REQUIRE(
        l.client.AdjustOne("small-" + std::to_string(i), l.vs2, kYear, credits::CREDIT_CLASS_A, 1)
            .status.ok());
  }
  // The bulk journals bypassed the service, so they have no outbox events: ledger checks only.
  CHECK(LedgerViolations(url, /*outbox=*/false).empty());

  // GetBalances reads the accounts, never the entries: the same buffers for both.
  auto buffers = [&](const std::string& organization) {
    pqxx::connection connection(url);
    pqxx::nontransaction tx(connection);
    std::string plan;
    for (const auto& row :
         tx.exec("EXPLAIN (ANALYZE, BUFFERS) SELECT model_year, credit_class::text, posted, "
                 "reserved FROM credit_accounts WHERE organization_id = " +
                 organization +
                 " AND (posted <> 0 OR reserved <> 0) ORDER BY model_year, credit_class")) {
      plan += row[0].as<std::string>() + "\n";
    }
    INFO(plan);
    CHECK(plan.find("credit_ledger_entries") == std::string::npos);
    const auto hit = plan.find("shared hit=");
    return hit == std::string::npos ? 0 : std::stoi(plan.substr(hit + 11));
  };
  // Warm first (the first run in a session also reads the catalog).
  buffers(vs1);
  buffers(std::to_string(l.vs2));
  const int large = buffers(vs1);
  const int small = buffers(std::to_string(l.vs2));
  WARN("GetBalances' statement: shared buffers hit with 10^6 entries " << large << ", with 10 "
                                                                       << small);
  CHECK(large <= small + 1);
  CHECK(l.Available(l.vs1) == 1000000);

  // The whole stream of 10^6 entries, with the server's memory flat.
  auto stub = credits::CreditLedgerService::NewStub(l.service.channel());
  const long before_kib = l.service.server().ResidentKiB();
  auto context = l.service.ContextFor("test_vs_1");
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  auto reader = stub->ListLedgerEntries(context.get(), {});
  credits::LedgerEntry entry;
  int64_t count = 0;
  int64_t sum = 0;
  uint64_t last = 0;
  bool ordered = true;
  long peak_kib = before_kib;
  while (reader->Read(&entry)) {
    ordered = ordered && entry.id() > last;
    last = entry.id();
    sum += entry.amount().hundredths();
    if (++count % 50000 == 0) peak_kib = std::max(peak_kib, l.service.server().ResidentKiB());
  }
  REQUIRE(reader->Finish().ok());
  CHECK(count == 1000000);
  CHECK(sum == 1000000);
  CHECK(ordered);
  const long growth_kib = std::max(peak_kib, l.service.server().ResidentKiB()) - before_kib;
  WARN("ListLedgerEntries of 10^6 entries: RSS growth " << growth_kib << " KiB");
  CHECK(growth_kib < 64L * 1024);
}

TEST_CASE("adjustments beyond 10^11 hundredths are refused; the government's total never throws",
          "[ledger][bounds]") {
  Ledger l;
  auto over = l.client.AdjustOne("over", l.vs1, 2021, credits::CREDIT_CLASS_A, 100000000001);
  CHECK(over.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(ErrorField(over.status) == "lines[0].amount");
  auto under = l.client.AdjustOne("under", l.vs1, 2021, credits::CREDIT_CLASS_A, -100000000001);
  CHECK(ErrorField(under.status) == "lines[0].amount");
  REQUIRE(l.client.AdjustOne("at", l.vs1, 2021, credits::CREDIT_CLASS_A, 100000000000).status.ok());
  // The database refuses an entry beyond the bound too.
  CHECK_THROWS(Sql(l.service.database_url(),
                   "INSERT INTO credit_ledger_entries (journal_id, organization_id, model_year,"
                   " credit_class, amount) SELECT journal_id, organization_id, 2022, 'A',"
                   " 100000000001 FROM credit_ledger_entries LIMIT 1"));

  // Two suppliers' accounts that together exceed int64 (as only a writer outside the service
  // could make them, with the database's triggers off): the government's total is refused
  // with a clear message, not a crash.
  Sql(l.service.database_url(),
      "SET LOCAL session_replication_role = replica;"
      "INSERT INTO credit_accounts (organization_id, model_year, credit_class, posted) VALUES (" +
          std::to_string(l.vs1) + ", 2030, 'B', 9000000000000000000), (" + std::to_string(l.vs2) +
          ", 2030, 'B', 9000000000000000000)");
  credits::GetBalancesResponse balances;
  const grpc::Status total = l.client.Balances("test_gov_1", 0, &balances);
  CHECK(total.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(total.error_message().find("2030 B") != std::string::npos);
  // Each supplier's own balance is within int64 and reads as ever; the server is still up.
  REQUIRE(l.client.Balances("test_vs_1", 0, &balances).ok());
  bool found = false;
  for (const auto& b : balances.balances()) {
    if (b.model_year() == 2030) {
      found = true;
      CHECK(b.posted().hundredths() == 9000000000000000000);
    }
  }
  CHECK(found);
}

TEST_CASE("postings creating the same new accounts in opposite orders never deadlock", "[ledger]") {
  Ledger l;
  const uint64_t vs3 = OrganizationId(l.service.database_url(), "Test Vehicle Supplier 3");
  // Each round, on keys no account has yet: half the callers post (K1, K2), half (K2, K1), and
  // some post K1 alone, so that callers see the new accounts at different moments. Accounts
  // are created in the global order before any is locked: callers wait, never deadlock, and
  // no transaction is aborted and run again.
  int rounds = 0;
  for (uint64_t organization : {l.vs1, l.vs2, vs3}) {
    for (uint32_t year = 2019; year <= 2026; ++year) {
      ++rounds;
      const auto line = [&](credits::AdjustCreditsRequest& r, uint32_t y, credits::CreditClass c) {
        auto* a = r.add_lines();
        a->set_model_year(y);
        a->set_credit_class(c);
        a->mutable_amount()->set_hundredths(1);
      };
      std::vector<std::thread> callers;
      std::atomic<int> ok{0};
      for (int i = 0; i < 12; ++i) {
        callers.emplace_back([&, i] {
          credits::AdjustCreditsRequest r;
          r.set_idempotency_key("order-" + std::to_string(rounds) + "-" + std::to_string(i));
          r.set_organization_id(organization);
          r.set_reason("deadlock-free posting");
          if (i % 3 == 0) {
            line(r, year, credits::CREDIT_CLASS_A);
          } else if (i % 3 == 1) {
            line(r, year, credits::CREDIT_CLASS_A);
            line(r, year, credits::CREDIT_CLASS_B);
          } else {
            line(r, year, credits::CREDIT_CLASS_B);
            line(r, year, credits::CREDIT_CLASS_A);
          }
          if (l.client.Adjust("test_gov_director", r).status.ok()) ++ok;
        });
      }
      for (auto& t : callers) t.join();
      INFO("round " << rounds);
      REQUIRE(ok == 12);
    }
  }
  CHECK(MetricValue(ScrapeMetrics(l.service.server().metrics_port()),
                    "zeva_db_transaction_retries_total") == 0);
  auto violations = zeva::db::AuditLedger(l.service.database_url(), /*outbox=*/true);
  REQUIRE(violations.ok());
  CHECK(violations->empty());
}
