#include "tests/support/deploy_manifests.h"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "tests/support/kustomize.h"
#include "tests/support/postgres_server.h"
#include "tests/support/server_process.h"

namespace zeva::testing {
namespace {

std::vector<Manifest> Render(const std::vector<std::string>& dirs) {
  std::vector<Manifest> all;
  for (const auto& dir : dirs) {
    for (const auto& doc : RenderKustomization(Src(dir))) all.push_back({dir, doc});
  }
  return all;
}

}  // namespace

std::string Src(const std::string& relative) { return SourceDir() + "/" + relative; }

std::string WorkerBinaryPath() { return WorkerBinary(); }

bool WorkerBuilt() { return std::filesystem::is_regular_file(WorkerBinaryPath()); }

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::vector<Manifest>& Manifests() {
  static const auto manifests = Render({"deploy/k8s/migrate", "deploy/k8s/overlays/production"});
  return manifests;
}

const std::vector<Manifest>& DevManifests() {
  static const auto manifests =
      Render({"deploy/k8s/dev-database", "deploy/k8s/migrate", "deploy/k8s/overlays/dev"});
  return manifests;
}

std::vector<std::string> Kustomizations() {
  std::vector<std::string> dirs;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(Src("deploy/k8s"))) {
    if (entry.path().filename() == "kustomization.yaml") {
      dirs.push_back(entry.path().parent_path().string().substr(SourceDir().size() + 1));
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

YAML::Node Object(const std::string& kind, const std::string& name,
                  const std::vector<Manifest>& in) {
  for (const auto& m : in) {
    if (m.doc["kind"].as<std::string>() == kind &&
        m.doc["metadata"]["name"].as<std::string>() == name) {
      return m.doc;
    }
  }
  throw std::runtime_error("no " + kind + " named " + name + " in the rendered manifests");
}

std::vector<YAML::Node> Workloads(const std::vector<Manifest>& in) {
  std::vector<YAML::Node> out;
  for (const auto& m : in) {
    const std::string kind = m.doc["kind"].as<std::string>();
    if (kind == "Deployment" || kind == "Job" || kind == "StatefulSet" || kind == "DaemonSet") {
      out.push_back(m.doc);
    }
  }
  return out;
}

YAML::Node FirstContainer(const YAML::Node& workload) {
  const YAML::Node containers = workload["spec"]["template"]["spec"]["containers"];
  if (!containers.IsSequence() || containers.size() == 0) {
    throw std::runtime_error("a workload without containers");
  }
  return containers[0];
}

std::vector<std::string> Strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) throw std::runtime_error("expected a list");
  for (const auto& item : node) out.push_back(item.as<std::string>());
  return out;
}

bool IsMapNode(const YAML::Node& node) { return node.IsDefined() && node.IsMap(); }
bool IsScalarNode(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

bool Selects(const YAML::Node& match_labels, const YAML::Node& labels) {
  if (!match_labels.IsDefined() || match_labels.IsNull()) return true;
  for (const auto& item : match_labels) {
    const YAML::Node label = labels[item.first.as<std::string>()];
    if (!label.IsDefined() || label.as<std::string>() != item.second.as<std::string>()) {
      return false;
    }
  }
  return true;
}

int ResolvePort(const YAML::Node& container, const YAML::Node& port) {
  const std::string text = port.as<std::string>();
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) return std::stoi(text);
  for (const auto& declared : container["ports"]) {
    if (declared["name"].IsDefined() && declared["name"].as<std::string>() == text) {
      return declared["containerPort"].as<int>();
    }
  }
  return -1;
}

int PreStopSleepSeconds(const YAML::Node& container) {
  const auto command = Strings(container["lifecycle"]["preStop"]["exec"]["command"]);
  if (command.size() == 2 && command[0] == "sleep") return std::stoi(command[1]);
  static const std::regex kTrailingSleep(R"(sleep (\d+)\s*$)");
  std::smatch match;
  if (!command.empty() && std::regex_search(command.back(), match, kTrailingSleep)) {
    return std::stoi(match[1].str());
  }
  return -1;
}

YAML::Node EnvoyConfig() { return YAML::LoadFile(Src("deploy/envoy/envoy.yaml")); }

double EnvoySeconds(const YAML::Node& duration) {
  std::string text = duration.as<std::string>();
  if (text.empty() || text.back() != 's') throw std::runtime_error("not a duration: " + text);
  return std::stod(text.substr(0, text.size() - 1));
}

}  // namespace zeva::testing
