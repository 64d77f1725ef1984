#include "tests/support/kustomize.h"

#include <filesystem>
#include <set>
#include <stdexcept>

#include "tests/support/process.h"

namespace zeva::testing {
namespace {

namespace fs = std::filesystem;

std::string ObjectKey(const YAML::Node& object) {
  return object["kind"].as<std::string>() + "/" + object["metadata"]["name"].as<std::string>();
}

bool NamedItems(const YAML::Node& list) {
  if (!list.IsSequence() || list.size() == 0) return false;
  for (const auto& item : list) {
    if (!item.IsMap() || !item["name"].IsDefined()) return false;
  }
  return true;
}

// Strategic merge, as far as these manifests need it: maps merge key by key (null deletes),
// lists of named maps (containers, ports, env, volumes) merge by name, other lists replace.
YAML::Node Merge(const YAML::Node& base, const YAML::Node& patch) {
  if (base.IsMap() && patch.IsMap()) {
    YAML::Node out = YAML::Clone(base);
    for (const auto& item : patch) {
      const auto key = item.first.as<std::string>();
      if (item.second.IsNull()) {
        out.remove(key);
      } else {
        out[key] = out[key].IsDefined() ? Merge(out[key], item.second) : YAML::Clone(item.second);
      }
    }
    return out;
  }
  if (NamedItems(base) && NamedItems(patch)) {
    YAML::Node out = YAML::Clone(base);
    for (const auto& item : patch) {
      bool merged = false;
      for (size_t i = 0; i < out.size(); ++i) {
        if (out[i]["name"].as<std::string>() == item["name"].as<std::string>()) {
          out[i] = Merge(out[i], item);
          merged = true;
        }
      }
      if (!merged) out.push_back(YAML::Clone(item));
    }
    return out;
  }
  return YAML::Clone(patch);
}

void Canonical(const YAML::Node& node, std::string* out) {
  if (node.IsMap()) {
    std::map<std::string, YAML::Node> sorted;
    for (const auto& item : node) sorted[item.first.as<std::string>()] = item.second;
    *out += "{";
    for (const auto& [key, value] : sorted) {
      *out += key + ":";
      Canonical(value, out);
      *out += ",";
    }
    *out += "}";
  } else if (node.IsSequence()) {
    *out += "[";
    for (const auto& item : node) {
      Canonical(item, out);
      *out += ",";
    }
    *out += "]";
  } else if (node.IsScalar()) {
    *out += "'" + node.Scalar() + "'";
  } else {
    *out += "~";
  }
}

}  // namespace

std::vector<YAML::Node> RenderKustomization(const std::string& dir) {
  const YAML::Node kustomization = YAML::LoadFile(dir + "/kustomization.yaml");
  const std::set<std::string> supported = {"apiVersion", "kind", "resources", "patches"};
  for (const auto& item : kustomization) {
    if (supported.count(item.first.as<std::string>()) == 0) {
      throw std::runtime_error(dir + ": the tests' renderer does not know '" +
                               item.first.as<std::string>() + "'");
    }
  }
  std::vector<YAML::Node> objects;
  for (const auto& resource : kustomization["resources"]) {
    const std::string path = dir + "/" + resource.as<std::string>();
    if (fs::is_directory(path)) {
      for (auto& object : RenderKustomization(path)) objects.push_back(object);
      continue;
    }
    for (const auto& doc : YAML::LoadAllFromFile(path)) {
      if (doc.IsMap()) objects.push_back(doc);
    }
  }
  for (const auto& patch_entry : kustomization["patches"]) {
    if (!patch_entry["path"].IsDefined() || patch_entry["target"].IsDefined()) {
      throw std::runtime_error(dir + ": only `patches: - path:` is rendered by the tests");
    }
    const YAML::Node patch = YAML::LoadFile(dir + "/" + patch_entry["path"].as<std::string>());
    bool applied = false;
    for (auto& object : objects) {
      if (ObjectKey(object) != ObjectKey(patch)) continue;
      object = Merge(object, patch);
      applied = true;
    }
    if (!applied) throw std::runtime_error(dir + ": patch for missing " + ObjectKey(patch));
  }
  return objects;
}

std::optional<std::vector<YAML::Node>> KubectlKustomize(const std::string& dir) {
  if (RunCommand({"sh", "-c", "command -v kubectl"}).exit_code != 0) return std::nullopt;
  const CommandResult result = RunCommand(
      {"sh", "-c", "kubectl kustomize \"$0\" 2>/dev/null || { echo FAILED; exit 1; }", dir});
  if (result.exit_code != 0) throw std::runtime_error("kubectl kustomize " + dir + " failed");
  std::vector<YAML::Node> objects;
  for (const auto& doc : YAML::LoadAll(result.output)) {
    if (doc.IsMap()) objects.push_back(doc);
  }
  return objects;
}

std::map<std::string, std::string> CanonicalObjects(const std::vector<YAML::Node>& objects) {
  std::map<std::string, std::string> out;
  for (const auto& object : objects) Canonical(object, &out[ObjectKey(object)]);
  return out;
}

}  // namespace zeva::testing
