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
