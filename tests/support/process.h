#pragma once
// Child processes for integration tests: the real binaries and helper scripts.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace zeva::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr, interleaved
};

// An argv and environment for exec, built before fork: the child of a multi-threaded test
// process may only make async-signal-safe calls until exec. An allocation there can wait
// forever on a lock that another thread held at fork (ASan's allocator did, in [outage]).
class ExecArgs {
 public:
  // `env` adds to (or overrides) the test's environment.
  ExecArgs(std::vector<std::string> argv, const std::map<std::string, std::string>& env);
  char* const* argv() { return argv_.data(); }
  char* const* envp() { return envp_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

// Runs a command to completion. `env` adds to (or overrides) the test's environment.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

// A fresh folder under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A free TCP port on 127.0.0.1 (bound, read and released: good enough for tests).
int FreePort();

}  // namespace zeva::testing
