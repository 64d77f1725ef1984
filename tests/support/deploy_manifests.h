#pragma once
// The Kubernetes objects of deploy/k8s as the clusters get them (kustomizations rendered),
// and the Envoy configuration, for the [deploy] tests.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace zeva::testing {

// A path in the source tree.
std::string Src(const std::string& relative);

// The outbox worker's binary: ZEVA_WORKER_BINARY when the build defines it (as WorkerBinary()
// of server_process.h then returns), else where CMake puts the target (build/worker/zeva-worker,
// beside build/server/). It may not be built: the [deploy] tests check the manifests against
// its --help and its NEEDED libraries only when it exists.
std::string WorkerBinaryPath();
bool WorkerBuilt();

bool Contains(const std::string& text, const std::string& part);

struct Manifest {
  std::string source;  // the kustomization it comes from, e.g. "deploy/k8s/overlays/dev"
  YAML::Node doc;
};

// What a production cluster gets: the migration Job, then the production overlay.
const std::vector<Manifest>& Manifests();
// What a dev cluster gets: the dev database, the migration Job, then the dev overlay.
const std::vector<Manifest>& DevManifests();
// Every kustomization directory under deploy/k8s (relative paths), sorted.
std::vector<std::string> Kustomizations();

// The object of that kind and name; throws when there is none.
YAML::Node Object(const std::string& kind, const std::string& name,
                  const std::vector<Manifest>& in = Manifests());
// Deployments and Jobs: the objects that have a pod template.
std::vector<YAML::Node> Workloads(const std::vector<Manifest>& in);
YAML::Node FirstContainer(const YAML::Node& workload);     // throws when there is none
std::vector<std::string> Strings(const YAML::Node& node);  // a sequence of scalars, or empty
// Whether `node` is a map / a scalar: false, not an exception, for the node an absent key of a
// const map gives (yaml-cpp's IsMap() throws InvalidNode on it).
bool IsMapNode(const YAML::Node& node);
bool IsScalarNode(const YAML::Node& node);

// Whether a label selector's matchLabels select pods with these labels (an empty selector
// selects every pod).
bool Selects(const YAML::Node& match_labels, const YAML::Node& labels);
// The container port `port` names (a number, or a port name of the container).
int ResolvePort(const YAML::Node& container, const YAML::Node& port);

// The seconds a container's preStop hook sleeps: `sleep N`, or a shell script ending in it;
// -1 when it has none.
int PreStopSleepSeconds(const YAML::Node& container);

// deploy/envoy/envoy.yaml.
YAML::Node EnvoyConfig();
// Envoy durations ("5s", "0.025s") in seconds.
double EnvoySeconds(const YAML::Node& duration);

}  // namespace zeva::testing
