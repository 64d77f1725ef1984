#include "bench/round_trips.h"

#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "config/option_set.h"
#include "db/ledger_audit.h"

namespace zeva::bench {

std::string QueryValue(const std::string& database_url, const std::string& statement) {
  pqxx::connection c(database_url);
  pqxx::work tx(c);
  const pqxx::result r = tx.exec(statement);
  tx.commit();
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
}

bool WaitUntilPublished(const std::string& database_url, const std::string& seq_before,
                        std::chrono::milliseconds timeout) {
  const std::string pending_sql =
      "SELECT count(*) FROM outbox_events WHERE seq > " + seq_before + " AND published_at IS NULL";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (QueryValue(database_url, pending_sql) == "0") return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

absl::StatusOr<int64_t> StatementsExecuted(const std::string& database_url) {
  if (database_url.empty()) return absl::NotFoundError("no database");
  try {
    pqxx::connection c(database_url);
    pqxx::nontransaction tx(c);
    // Less what PL/pgSQL triggers run inside the server (the journal balance check at commit,
    // the outbox NOTIFY): they reference NEW/OLD or call pg_notify, and are no round trips;
    // and less the readiness probe's SELECT 1, which belongs to no call.
    return tx
        .exec1(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements "
            "WHERE query !~ '\\mNEW\\.|\\mOLD\\.|pg_notify' "
            "AND query <> 'SELECT $1'")[0]
        .as<int64_t>();
  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
}

int AuditMain(const std::vector<std::string>& args) {
  std::string database_url;
  bool ledger_only = false;
  config::OptionSet options(
      "zeva-bench audit: the ledger's and the outbox's invariants (db/ledger_audit).\n"
      "Usage: zeva-bench audit --database-url URL [--ledger-only]");
  options.AddSecret("database-url", "DATABASE_URL", "The database to audit.", &database_url);
  options.AddBool("ledger-only", "", false, "Leave out the outbox checks.", &ledger_only);
  bool help = false;
  if (auto s = options.ParseFlagsOnly(args, config::ProcessEnv(), &help); !s.ok()) {
    std::cerr << "zeva-bench audit: " << s.message() << "\n";
    return 2;
  }
  if (help) {
    std::cout << options.Help();
    return 0;
  }
  auto violations = db::AuditLedger(database_url, !ledger_only);
  if (!violations.ok()) {
    std::cerr << "zeva-bench audit: " << violations.status().message() << "\n";
    return 2;
  }
  for (const std::string& v : *violations) std::cout << "violation: " << v << "\n";
  std::cout << "audit: " << violations->size() << " violations\n";
  return violations->empty() ? 0 : 1;
}

}  // namespace zeva::bench
