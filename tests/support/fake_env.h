#pragma once
// An environment for configuration tests: a fixed map instead of the process's variables.

#include <map>
#include <optional>
#include <string>

#include "config/option_set.h"

namespace zeva::testing {

inline config::EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace zeva::testing
