#pragma once
// Readers for the deployment files (Dockerfile, Kubernetes/Envoy/skaffold/CI YAML) and for
// the binaries' --help text, used by the [deploy] consistency tests.

#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace zeva::testing {

std::string ReadTextFile(const std::string& path);

// Every *.yaml / *.yml file under `dir` (recursively), sorted; empty if `dir` is absent.
std::vector<std::string> YamlFilesUnder(const std::string& dir);

// All documents of a (multi-document) YAML file; throws YAML::Exception on bad YAML.
std::vector<YAML::Node> LoadYamlDocuments(const std::string& path);

// One Dockerfile instruction, continuation lines joined, comments dropped.
struct DockerInstruction {
  std::string keyword;  // upper case: FROM, RUN, COPY, ENV, EXPOSE, USER, CMD, ...
  std::string args;     // the rest of the instruction, whitespace-collapsed
  int stage = -1;       // index of the FROM it belongs to
};

struct Dockerfile {
  std::vector<std::string> stage_names;  // "AS name" of each FROM ("" when unnamed)
  std::vector<std::string> stage_bases;  // the image of each FROM
  std::vector<DockerInstruction> instructions;

  int StageIndex(const std::string& name) const;  // -1 when absent
  std::vector<DockerInstruction> Find(const std::string& keyword, int stage = -1) const;
  std::set<int> ExposedPorts() const;
  std::map<std::string, std::string> Env() const;  // ENV K=V pairs of every stage
};

Dockerfile ParseDockerfile(const std::string& path);

// One option line of an OptionSet --help ("--port=VALUE  [env PORT]  (default: 10102)").
struct HelpOption {
  std::string flag;  // without the leading dashes
  std::string env;   // "" when the option has no environment variable
  std::string default_value;
};

std::vector<HelpOption> ParseHelp(const std::string& help_text);
std::set<std::string> HelpEnvNames(const std::vector<HelpOption>& options);
std::set<std::string> HelpFlags(const std::vector<HelpOption>& options);
// The default of the option read from `env`; throws when no option reads it.
std::string HelpDefault(const std::vector<HelpOption>& options, const std::string& env);

// Whitespace-separated words.
std::vector<std::string> Words(const std::string& text);

}  // namespace zeva::testing
