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

// A program, its arguments and its whole environment, prepared before fork: between fork and
// exec the child of a multi-threaded process (gRPC's threads run in the tests) may only make
// async-signal-safe calls, so no allocation and no setenv happen there.
class PreparedExec {
 public:
  // `argv[0]` is looked up in PATH unless it holds a '/'; `env` adds to (or overrides) the
  // test's environment.
  PreparedExec(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  // In the child, after fork: execve, or a message on stderr and _exit(127).
  [[noreturn]] void ExecInChild() const;

 private:
  std::string path_;
  std::vector<std::string> argv_storage_;
  std::vector<std::string> env_storage_;
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
