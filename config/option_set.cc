#include "config/option_set.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace zeva::config {

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<int> ParseInt(const std::string& name, const std::string& value, int min, int max) {
  int parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": '", value, "' is not a whole number"));
  }
  if (parsed < min || parsed > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", parsed, " is outside [", min, ", ", max, "]"));
  }
  return parsed;
}

absl::StatusOr<bool> ParseBool(const std::string& name, const std::string& value) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": '", value, "' is not a boolean (true/false)"));
}

void OptionSet::AddString(std::string flag, std::string env, const std::string& default_value,
                          std::string help, std::string* target) {
  options_.push_back(Option{std::move(flag), std::move(env),
                            default_value.empty() ? "(empty)" : default_value, std::move(help),
                            false, false,
                            [target](const std::string& v) {
                              *target = v;
                              return absl::OkStatus();
                            },
                            [target, default_value] { *target = default_value; }});
}

void OptionSet::AddSecret(std::string flag, std::string env, std::string help,
                          std::string* target) {
  options_.push_back(Option{std::move(flag), std::move(env), "(empty)", std::move(help), false,
                            true,
                            [target](const std::string& v) {
                              *target = v;
                              return absl::OkStatus();
                            },
                            [target] { target->clear(); }});
}

void OptionSet::AddInt(std::string flag, std::string env, int default_value, int min, int max,
                       std::string help, int* target) {
  const std::string name = "--" + flag;
  options_.push_back(Option{std::move(flag), std::move(env), std::to_string(default_value),
                            std::move(help), false, false,
                            [target, name, min, max](const std::string& v) -> absl::Status {
                              auto parsed = ParseInt(name, v, min, max);
                              if (!parsed.ok()) return parsed.status();
                              *target = *parsed;
                              return absl::OkStatus();
                            },
                            [target, default_value] { *target = default_value; }});
}

void OptionSet::AddBool(std::string flag, std::string env, bool default_value, std::string help,
                        bool* target) {
  const std::string name = "--" + flag;
  options_.push_back(Option{std::move(flag), std::move(env), default_value ? "true" : "false",
                            std::move(help), true, false,
                            [target, name](const std::string& v) -> absl::Status {
                              auto parsed = ParseBool(name, v);
                              if (!parsed.ok()) return parsed.status();
                              *target = *parsed;
                              return absl::OkStatus();
                            },
                            [target, default_value] { *target = default_value; }});
}

void OptionSet::AddChoice(std::string flag, std::string env, const std::string& default_value,
                          const std::vector<std::string>& choices, std::string help,
                          std::string* target) {
  const std::string name = "--" + flag;
  help = absl::StrCat(help, " One of: ", absl::StrJoin(choices, ", "), ".");
  options_.push_back(
      Option{std::move(flag), std::move(env), default_value, std::move(help), false, false,
             [target, name, choices](const std::string& v) -> absl::Status {
               for (const auto& choice : choices) {
                 if (choice == v) {
                   *target = v;
                   return absl::OkStatus();
                 }
               }
               return absl::InvalidArgumentError(
                   absl::StrCat(name, ": '", v, "' is not one of ", absl::StrJoin(choices, ", ")));
             },
             [target, default_value] { *target = default_value; }});
}

const OptionSet::Option* OptionSet::Find(const std::string& flag) const {
  for (const auto& option : options_) {
    if (option.flag == flag) return &option;
  }
  return nullptr;
}

absl::StatusOr<std::vector<std::string>> OptionSet::Parse(const std::vector<std::string>& args,
                                                          const EnvLookup& env,
                                                          bool* help_requested) const {
  *help_requested = false;
  for (const auto& option : options_) option.reset();
  for (const auto& option : options_) {
    if (option.env.empty()) continue;
    if (auto value = env(option.env)) {
      if (absl::Status status = option.set(*value); !status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("environment variable ", option.env, ": ", status.message()));
      }
    }
  }

  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      *help_requested = true;
      continue;
    }
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (!absl::StartsWith(arg, "--")) {
      positional.push_back(arg);
      continue;
    }
    std::string flag = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    const Option* option = Find(flag);
    if (option == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", flag));
    }
    if (!value) {
      if (option->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("option --", flag, " needs a value"));
      }
    }
    if (absl::Status status = option->set(*value); !status.ok()) return status;
  }
  return positional;
}

std::string OptionSet::Help() const {
  std::string out =
      usage_ + "\n\nOptions (a flag beats its environment variable, which beats the default):\n";
  for (const auto& option : options_) {
    absl::StrAppend(&out, "  --", option.flag, option.is_bool ? "" : "=VALUE");
    if (!option.env.empty()) absl::StrAppend(&out, "  [env ", option.env, "]");
    absl::StrAppend(&out, "  (default: ", option.default_text, ")\n      ", option.help, "\n");
  }
  absl::StrAppend(&out, "  --help\n      Print this help and exit.\n");
  return out;
}

absl::Status OptionSet::ParseFlagsOnly(const std::vector<std::string>& args, const EnvLookup& env,
                                       bool* help_requested) const {
  auto positional = Parse(args, env, help_requested);
  if (!positional.ok()) return positional.status();
  if (!*help_requested && !positional->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", positional->front(), "'"));
  }
  return absl::OkStatus();
}

absl::Status Required(const std::string& value, const std::string& env, const std::string& flag) {
  if (!value.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(env, " (or --", flag, ") is required"));
}

}  // namespace zeva::config
