// zeva-migrate: the standalone migration runner (replaces `alembic upgrade head`). Parses the
// verb and its options, then hands over to runner.cc.

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "config/option_set.h"
#include "migrate/exit_codes.h"
#include "migrate/interrupts.h"
#include "migrate/runner.h"

namespace {

using zeva::config::OptionSet;
using zeva::migrate::Settings;

constexpr char kOverview[] =
    "zeva-migrate: applies the SQL migrations under migrations/ to PostgreSQL, once, under an\n"
    "advisory lock; takes over databases that alembic migrated.\n"
    "Usage: zeva-migrate VERB [options]   (zeva-migrate VERB --help for one verb)\n"
    "Verbs:\n"
    "  upgrade [head|ID]   apply migrations up to head (default) or ID\n"
    "  downgrade ID|base   undo migrations after ID (or all)\n"
    "  current             print the database's revision (\"(head)\" when at head)\n"
    "  history             list the migrations, and when/by whom each was applied\n"
    "  check [--head]      verify applied migrations against the files (read-only, no lock)\n"
    "  audit [--outbox]    check the credit ledger's invariants: exit 1 and one line per\n"
    "                      violation (read-only, one snapshot, safe while the service runs)\n";

const std::map<std::string, std::string>& VerbUsage() {
  static const std::map<std::string, std::string> usage = {
      {"upgrade",
       "Usage: zeva-migrate upgrade [head|ID] [options]\n"
       "Applies the pending migrations up to head or ID, each in its own transaction with its\n"
       "history row. Runs under an advisory lock: concurrent runners wait, then find nothing\n"
       "to do. Adopts a database that alembic left at a revision of the chain."},
      {"downgrade",
       "Usage: zeva-migrate downgrade ID|base [options]\n"
       "Undoes the migrations after ID (all of them with base), newest first."},
      {"current",
       "Usage: zeva-migrate current [options]\n"
       "Prints the database's current revision (base when empty), with \"(head)\" at head."},
      {"history",
       "Usage: zeva-migrate history [options]\n"
       "Lists the migrations in order; with a database, when, how long and by whom each was\n"
       "applied."},
      {"check",
       "Usage: zeva-migrate check [--head] [options]\n"
       "Verifies the applied migrations against the files: edited (checksum differs), missing\n"
       "or unknown ones, alembic_version disagreeing. Read-only and without the lock, for\n"
       "replicas and init containers."},
      {"audit",
       "Usage: zeva-migrate audit [--outbox] [options]\n"
       "Checks the credit ledger's invariants (posted = the sum of entries per supplier key,\n"
       "journals sum to zero, reserved = the reserving transfers' lines, one journal per\n"
       "RECORDED transfer, no negative available, suppliers = minus government) in one\n"
       "read-only snapshot. Prints one line per violation and exits 1 when there is any."},
  };
  return usage;
}

// Registers every option with kAllVerbs: only to find the verb among the arguments.
constexpr char kAllVerbs[] = "*";

// Every option, registered only for the verbs that use it.
void AddOptions(const std::string& verb, OptionSet* options, Settings* s) {
  options->AddSecret("database-url", "DATABASE_URL",
                     verb == "history" ? "PostgreSQL URL (optional: shows what is applied)."
                                       : "PostgreSQL URL. Required (optional with --sql).",
                     &s->database_url);
  options->AddString("migrations-dir", "MIGRATIONS_DIR", "",
                     "Folder of NNNN_name.sql files. Default: ./migrations, then "
                     "../share/zeva/migrations beside the binary, then /usr/share/zeva/migrations.",
                     &s->migrations_dir);
  options->AddInt("wait", "MIGRATE_WAIT_SECONDS", 0, 0, 86400,
                  "Seconds to keep retrying the first connection while PostgreSQL is not up.",
                  &s->wait_seconds);
  const bool all = verb == kAllVerbs;
  const bool changes = all || verb == "upgrade" || verb == "downgrade";
  if (changes) {
    options->AddInt("lock-wait", "MIGRATE_LOCK_WAIT_SECONDS", 300, 0, 86400,
                    "Seconds to wait for the migration lock held by another runner (exit 4 after).",
                    &s->lock_wait_seconds);
    options->AddString("lock-timeout", "MIGRATE_LOCK_TIMEOUT", "10s",
                       "PostgreSQL lock_timeout for migration statements: fail fast instead of "
                       "queueing live traffic behind a table lock (0 = wait forever).",
                       &s->lock_timeout);
    options->AddString("statement-timeout", "MIGRATE_STATEMENT_TIMEOUT", "0",
                       "PostgreSQL statement_timeout for migration statements (0 = none).",
                       &s->statement_timeout);
    options->AddBool("sql", "", false,
                     "Print the SQL instead of running it; touches nothing. Without a database "
                     "it assumes base (upgrade) or head (downgrade).",
                     &s->sql);
  }
  if (all || verb == "upgrade") {
    options->AddBool("fixtures", "LOAD_TEST_FIXTURES", false,
                     "Also load the test fixtures of each migration applied (never in production).",
                     &s->fixtures);
  }
  if (all || verb == "audit") {
    options->AddBool("outbox", "", false,
                     "Also check that every journal and transfer change has its outbox event "
                     "(valid only until delivered events are pruned).",
                     &s->outbox);
  }
  if (all || verb == "check") {
    options->AddBool("head", "", false, "Exit 5 unless the database is at this build's head.",
                     &s->head);
  }
}

std::string Help(const OptionSet& options) {
  return absl::StrCat(options.Help(), "\n", zeva::migrate::kExitCodeHelp);
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "zeva-migrate: %s\n(zeva-migrate --help lists the verbs)\n",
               message.c_str());
  return zeva::migrate::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  zeva::migrate::Interrupts::Install();
  const std::vector<std::string> args(argv + 1, argv + argc);

  // The verb is the first positional argument; options may come before or after it. A first
  // pass with every option (and no environment) finds it, skipping the options' values.
  std::string verb;
  {
    Settings ignored;
    OptionSet everything("");
    AddOptions(kAllVerbs, &everything, &ignored);
    bool help = false;
    auto positional = everything.Parse(
        args, [](const std::string&) { return std::optional<std::string>(); }, &help);
    if (!positional.ok()) return Usage(std::string(positional.status().message()));
    if (!positional->empty()) {
      verb = positional->front();
    } else if (help) {
      std::printf("%s\n%s", kOverview, zeva::migrate::kExitCodeHelp);
      return 0;
    } else {
      return Usage("a verb is required: upgrade, downgrade, current, history, check or audit");
    }
  }
  const auto usage = VerbUsage().find(verb);
  if (usage == VerbUsage().end()) return Usage(absl::StrCat("unknown verb '", verb, "'"));

  Settings settings;
  settings.verb = verb;
  settings.executable = argc > 0 ? argv[0] : "zeva-migrate";
  OptionSet options(usage->second);
  AddOptions(verb, &options, &settings);
  bool help = false;
  auto positional = options.Parse(args, zeva::config::ProcessEnv(), &help);
  if (!positional.ok()) return Usage(std::string(positional.status().message()));
  if (help) {
    std::fputs(Help(options).c_str(), stdout);
    return 0;
  }
  // positional[0] is the verb itself.
  settings.args.assign(positional->begin() + 1, positional->end());
  return zeva::migrate::Run(settings);
}
