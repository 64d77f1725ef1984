#pragma once
// A small table of command-line options, each with an environment variable and a default,
// so that every binary reads its configuration once, in one place, with one precedence rule:
// --flag beats the environment, which beats the default. `Help()` lists every option.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zeva::config {

// Reads one environment variable; injectable so that tests need not touch the process env.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The real process environment. An empty value counts as unset.
EnvLookup ProcessEnv();

class OptionSet {
 public:
  explicit OptionSet(std::string usage) : usage_(std::move(usage)) {}

  // `env` may be empty when the option has no environment variable.
  void AddString(std::string flag, std::string env, const std::string& default_value,
                 std::string help, std::string* target);
  // A secret's value is never printed (help shows only whether it has a default).
  void AddSecret(std::string flag, std::string env, std::string help, std::string* target);
  void AddInt(std::string flag, std::string env, int default_value, int min, int max,
              std::string help, int* target);
  // Booleans accept true/false, 1/0, yes/no, on/off in any case; a bare --flag means true.
  void AddBool(std::string flag, std::string env, bool default_value, std::string help,
               bool* target);
  // One of a fixed set of words.
  void AddChoice(std::string flag, std::string env, const std::string& default_value,
                 const std::vector<std::string>& choices, std::string help, std::string* target);

  // Applies defaults, then the environment, then `args` (which exclude argv[0]). Returns the
  // positional arguments in order. `--help` / `-h` sets *help_requested and stops validation of
  // missing values, but unknown flags are still errors.
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args,
                                                 const EnvLookup& env, bool* help_requested) const;

  // Parse for programs that take no positional arguments: one is INVALID_ARGUMENT.
  absl::Status ParseFlagsOnly(const std::vector<std::string>& args, const EnvLookup& env,
                              bool* help_requested) const;

  std::string Help() const;

 private:
  struct Option {
    std::string flag;
    std::string env;
    std::string default_text;  // as shown in --help
    std::string help;
    bool is_bool = false;
    bool is_secret = false;
    std::function<absl::Status(const std::string& value)> set;
    std::function<void()> reset;
  };
  const Option* Find(const std::string& flag) const;

  std::string usage_;
  std::vector<Option> options_;
};

// INVALID_ARGUMENT "ENV (or --flag) is required" when `value` is empty.
absl::Status Required(const std::string& value, const std::string& env, const std::string& flag);

// Parsers shared by option tables; errors name the option.
absl::StatusOr<int> ParseInt(const std::string& name, const std::string& value, int min, int max);
absl::StatusOr<bool> ParseBool(const std::string& name, const std::string& value);

}  // namespace zeva::config
