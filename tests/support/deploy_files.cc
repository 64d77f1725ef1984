#include "tests/support/deploy_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace zeva::testing {

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> YamlFilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const auto ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<YAML::Node> LoadYamlDocuments(const std::string& path) {
  return YAML::LoadAllFromFile(path);
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

namespace {
std::string Collapse(const std::string& text) {
  std::string out;
  for (const auto& word : Words(text)) out += (out.empty() ? "" : " ") + word;
  return out;
}
}  // namespace

Dockerfile ParseDockerfile(const std::string& path) {
  std::istringstream in(ReadTextFile(path));
  Dockerfile file;
  std::string pending;
  auto flush = [&file](const std::string& text) {
    const std::string line = Collapse(text);
    if (line.empty()) return;
    const auto space = line.find(' ');
    DockerInstruction instruction;
    instruction.keyword = line.substr(0, space);
    std::transform(instruction.keyword.begin(), instruction.keyword.end(),
                   instruction.keyword.begin(), ::toupper);
    instruction.args = space == std::string::npos ? "" : line.substr(space + 1);
    if (instruction.keyword == "FROM") {
      const auto words = Words(instruction.args);
      file.stage_bases.push_back(words.empty() ? "" : words[0]);
      const bool named = words.size() >= 3 && (words[1] == "AS" || words[1] == "as");
      file.stage_names.push_back(named ? words[2] : "");
    }
    instruction.stage = static_cast<int>(file.stage_names.size()) - 1;
    file.instructions.push_back(instruction);
  };
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '#') continue;  // comment (or directive)
    const auto last = line.find_last_not_of(" \t\r");
    if (last != std::string::npos && line[last] == '\\') {
      pending += line.substr(0, last) + " ";
      continue;
    }
    flush(pending + line);
    pending.clear();
  }
  flush(pending);
  return file;
}

int Dockerfile::StageIndex(const std::string& name) const {
  for (size_t i = 0; i < stage_names.size(); ++i) {
    if (stage_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<DockerInstruction> Dockerfile::Find(const std::string& keyword, int stage) const {
  std::vector<DockerInstruction> found;
  for (const auto& instruction : instructions) {
    if (instruction.keyword == keyword && (stage < 0 || instruction.stage == stage)) {
      found.push_back(instruction);
    }
  }
  return found;
}

std::set<int> Dockerfile::ExposedPorts() const {
  std::set<int> ports;
  for (const auto& expose : Find("EXPOSE")) {
    for (const auto& word : Words(expose.args)) ports.insert(std::stoi(word));  // "10102/tcp" ok
  }
  return ports;
}

std::map<std::string, std::string> Dockerfile::Env() const {
  std::map<std::string, std::string> env;
  for (const auto& instruction : Find("ENV")) {
    for (const auto& word : Words(instruction.args)) {
      const auto eq = word.find('=');
      if (eq == std::string::npos) throw std::runtime_error("ENV without '=': " + word);
      env[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return env;
}

std::vector<HelpOption> ParseHelp(const std::string& help_text) {
  static const std::regex kLine(
      R"(^  --([a-z0-9-]+)(?:=VALUE)?(?:  \[env ([A-Z0-9_]+)\])?(?:  \(default: (.*)\))?$)");
  std::vector<HelpOption> options;
  std::istringstream in(help_text);
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_match(line, match, kLine)) {
      options.push_back({match[1].str(), match[2].str(), match[3].str()});
    }
  }
  return options;
}

std::set<std::string> HelpEnvNames(const std::vector<HelpOption>& options) {
  std::set<std::string> names;
  for (const auto& option : options) {
    if (!option.env.empty()) names.insert(option.env);
  }
  return names;
}

std::set<std::string> HelpFlags(const std::vector<HelpOption>& options) {
  std::set<std::string> flags;
  for (const auto& option : options) flags.insert(option.flag);
  return flags;
}

std::string HelpDefault(const std::vector<HelpOption>& options, const std::string& env) {
  for (const auto& option : options) {
    if (option.env == env) return option.default_value;
  }
  throw std::runtime_error("no option reads " + env);
}

}  // namespace zeva::testing
