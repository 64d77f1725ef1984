#pragma once
// Rendering of the kustomizations under deploy/k8s, for the [deploy] tests. CI's test job
// and the image's build stage have no `kubectl`, and Debian has no kustomize package, so
// the tests render the subset of kustomize the repository uses themselves (`resources`:
// files and directories; `patches`: strategic-merge patch files) and, where `kubectl` is
// installed, check that `kubectl kustomize` renders the same objects.

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zeva::testing {

// The objects of the kustomization in `dir`; throws on anything outside the subset.
std::vector<YAML::Node> RenderKustomization(const std::string& dir);

// `kubectl kustomize dir`, or nothing when kubectl is not installed; throws when it fails.
std::optional<std::vector<YAML::Node>> KubectlKustomize(const std::string& dir);

// Objects by "Kind/name", each as canonical text (keys sorted, scalars as text), for
// comparing two renderings.
std::map<std::string, std::string> CanonicalObjects(const std::vector<YAML::Node>& objects);

}  // namespace zeva::testing
