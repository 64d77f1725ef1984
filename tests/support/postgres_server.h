#pragma once
// One real PostgreSQL server per test binary run (started on first use through
// scripts/pg-throwaway.sh, stopped at exit), and a fresh database per test.
// If PostgreSQL cannot start, every test that needs it fails with the server's log.

#include <memory>
#include <string>

namespace zeva::testing {

class PostgresServer {
 public:
  // The process-wide server, started on first call. Throws when it cannot start.
  static PostgresServer& Shared();
  // A server of the caller's own (stopped when it goes): for tests that replace it.
  static std::unique_ptr<PostgresServer> Own();

  // Creates an empty database with a unique name and returns its URL.
  std::string CreateDatabase();
  // URL of the maintenance database `zeva`.
  const std::string& admin_url() const { return admin_url_; }
  // Stops and restarts the server (same port and data): for outage tests.
  void Stop();
  void Start();
  // Stops it and starts a fresh cluster (another system identifier, an empty database `zeva`)
  // on the same port: admin_url() now reaches another server, as after a failover.
  void Replace();
  // Stops (SIGSTOP) or continues (SIGCONT) the postmaster and every backend: a server that
  // still accepts TCP connections and acknowledges data but never answers.
  void Freeze();
  void Thaw();

  ~PostgresServer();

 private:
  PostgresServer();
  std::string dir_;
  std::string admin_url_;
  int next_database_ = 0;
};

// The project's source tree (for scripts and migrations).
std::string SourceDir();

}  // namespace zeva::testing
