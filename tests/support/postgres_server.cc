#include "tests/support/postgres_server.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/process.h"

namespace zeva::testing {

std::string SourceDir() { return ZEVA_SOURCE_DIR; }

namespace {
std::string Script() { return SourceDir() + "/scripts/pg-throwaway.sh"; }
}  // namespace

PostgresServer& PostgresServer::Shared() {
  static PostgresServer server;
  return server;
}

std::unique_ptr<PostgresServer> PostgresServer::Own() {
  return std::unique_ptr<PostgresServer>(new PostgresServer());
}

PostgresServer::PostgresServer() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/zeva-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  CommandResult result = RunCommand({"bash", Script(), "start", dir_ + "/pg"});
  if (result.exit_code != 0) {
    throw std::runtime_error("PostgreSQL did not start:\n" + result.output);
  }
  // The URL is the last line the script prints.
  std::string out(absl::StripTrailingAsciiWhitespace(result.output));
  admin_url_ = out.substr(out.find_last_of('\n') + 1);
  if (admin_url_.rfind("postgresql://", 0) != 0) {
    throw std::runtime_error("unexpected output of pg-throwaway.sh:\n" + result.output);
  }
}

PostgresServer::~PostgresServer() {
  RunCommand({"bash", Script(), "stop", dir_ + "/pg"});
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void PostgresServer::Stop() {
  CommandResult result = RunCommand({"bash", Script(), "stop", dir_ + "/pg"});
  if (result.exit_code != 0) throw std::runtime_error("pg stop failed:\n" + result.output);
}

void PostgresServer::Start() {
  CommandResult result = RunCommand({"bash", Script(), "resume", dir_ + "/pg"});
  if (result.exit_code != 0) throw std::runtime_error("pg resume failed:\n" + result.output);
}

void PostgresServer::Replace() {
  CommandResult result = RunCommand({"bash", Script(), "replace", dir_ + "/pg"});
  if (result.exit_code != 0) throw std::runtime_error("pg replace failed:\n" + result.output);
}

namespace {

void SignalCluster(const std::string& data_dir, const char* signal) {
  // The postmaster first (it forks no new backends once stopped), then its children.
  const std::string script = std::string("pid=$(head -n 1 '") + data_dir +
                             "/postmaster.pid') && kill -" + signal + " \"$pid\" && pkill -" +
                             signal + " -P \"$pid\"";
  CommandResult result = RunCommand({"bash", "-c", script});
  if (result.exit_code != 0) {
    throw std::runtime_error(std::string("cannot send SIG") + signal + ":\n" + result.output);
  }
}

}  // namespace

void PostgresServer::Freeze() { SignalCluster(dir_ + "/pg/data", "STOP"); }

void PostgresServer::Thaw() { SignalCluster(dir_ + "/pg/data", "CONT"); }

std::string PostgresServer::CreateDatabase() {
  const std::string name = absl::StrCat("test_", getpid(), "_", ++next_database_);
  pqxx::connection admin(admin_url_);
  pqxx::nontransaction tx(admin);
  tx.exec0("CREATE DATABASE " + tx.quote_name(name));
  return admin_url_.substr(0, admin_url_.rfind('/') + 1) + name;
}

}  // namespace zeva::testing
