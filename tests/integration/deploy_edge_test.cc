// The deployment's edge and security rules (issue 12), checked on the manifests as the
// clusters get them (kustomizations rendered) and on Envoy's configuration: overlays,
// Pod Security "restricted", NetworkPolicies, Envoy's own pod, CORS, the rollout timeline.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/deploy_files.h"
#include "tests/support/deploy_manifests.h"
#include "tests/support/edge_policy.h"
#include "tests/support/kustomize.h"
#include "tests/support/process.h"

using namespace zeva::testing;

namespace {

// Envoy supports a release line for a year (four quarterly lines). In November 2026 that
// is 1.37 to 1.40; raise this when a line leaves support.
constexpr int kMinSupportedEnvoyMinor = 37;
// Kubernetes' side of the rollout timeline: how long a terminating pod can still be in the
// DNS answers Envoy gets (EndpointSlice update, then CoreDNS's cache, 5 s by default).
constexpr double kDnsPropagationSeconds = 2 + 5;
constexpr char kMonitoringNamespace[] = "monitoring";
// The server exits by itself this long after SHUTDOWN_GRACE_SECONDS even when a call is stuck
// on a frozen database (README, Operations, Shutdown).
constexpr int kForcedExitSeconds = 3;

YAML::Node PodLabels(const YAML::Node& workload) {
  return workload["spec"]["template"]["metadata"]["labels"];
}

std::string Name(const YAML::Node& object) { return object["metadata"]["name"].as<std::string>(); }

std::vector<YAML::Node> NetworkPolicies(const std::vector<Manifest>& in) {
  std::vector<YAML::Node> out;
  for (const auto& m : in) {
    if (m.doc["kind"].as<std::string>() == "NetworkPolicy") out.push_back(m.doc);
  }
  return out;
}

// The ingress rules that apply to the workload's pods and admit its container port `port`.
std::vector<YAML::Node> RulesAdmitting(const std::vector<Manifest>& in, const YAML::Node& workload,
                                       int port) {
  std::vector<YAML::Node> rules;
  for (const auto& policy : NetworkPolicies(in)) {
    if (!Selects(policy["spec"]["podSelector"]["matchLabels"], PodLabels(workload))) continue;
    for (const auto& rule : policy["spec"]["ingress"]) {
      bool admits = !rule["ports"].IsDefined();  // no ports: every port
      for (const auto& p : rule["ports"]) {
        admits |= ResolvePort(FirstContainer(workload), p["port"]) == port;
      }
      if (admits) rules.push_back(rule);
    }
  }
  return rules;
}

// The workloads (by name) a `from` peer admits, among `in`'s; "*" for anything outside
// them (another namespace, an IP block, or no `from` at all).
std::set<std::string> Admitted(const std::vector<Manifest>& in, const YAML::Node& rule) {
  std::set<std::string> names;
  if (!rule["from"].IsDefined()) return {"*"};
  for (const auto& peer : rule["from"]) {
    if (peer["namespaceSelector"].IsDefined() || peer["ipBlock"].IsDefined()) {
      names.insert("*");
      continue;
    }
    for (const auto& workload : Workloads(in)) {
      if (Selects(peer["podSelector"]["matchLabels"], PodLabels(workload))) {
        names.insert(Name(workload));
      }
    }
  }
  return names;
}

YAML::Node Cluster(const YAML::Node& envoy, const std::string& name) {
  for (const auto& cluster : envoy["static_resources"]["clusters"]) {
    if (cluster["name"].as<std::string>() == name) return static_cast<const YAML::Node&>(cluster);
  }
  return {};
}

}  // namespace

TEST_CASE(
    "the overlays render, the same as with kubectl kustomize, and production's unset "
    "values stop a release",
    "[deploy]") {
  CHECK(Kustomizations() ==
        std::vector<std::string>{"deploy/k8s/base", "deploy/k8s/dev-database", "deploy/k8s/migrate",
                                 "deploy/k8s/overlays/dev", "deploy/k8s/overlays/production"});
  for (const auto& dir : Kustomizations()) {
    INFO(dir);
    std::vector<YAML::Node> ours;
    REQUIRE_NOTHROW(ours = RenderKustomization(Src(dir)));
    CHECK(!ours.empty());
    const auto kubectl = KubectlKustomize(Src(dir));
    if (kubectl) {
      CHECK(CanonicalObjects(ours) == CanonicalObjects(*kubectl));
    } else {
      WARN("kubectl is not installed: " << dir << " checked with the tests' renderer only");
    }
  }

  // Keycloak's addresses come from the overlays: dev's, and production placeholders.
  const std::vector<std::string> keys = {"KEYCLOAK_AUTHORITY", "KEYCLOAK_CERTS_URL",
                                         "KEYCLOAK_ISSUER"};
  const YAML::Node base = RenderKustomization(Src("deploy/k8s/base")).at(0);
  REQUIRE(base["kind"].as<std::string>() == "ConfigMap");
  const YAML::Node production =
      Object("ConfigMap", "zeva-transaction-service-config", Manifests())["data"];
  const YAML::Node dev =
      Object("ConfigMap", "zeva-transaction-service-config", DevManifests())["data"];
  for (const auto& key : keys) {
    INFO(key);
    CHECK(!base["data"][key].IsDefined());
    CHECK(production[key].as<std::string>().rfind("REPLACE_ME", 0) == 0);
    CHECK(!Contains(dev[key].as<std::string>(), "REPLACE_ME"));
  }
  CHECK(dev["KEYCLOAK_ISSUER"].as<std::string>() == "http://localhost:8888/auth/realms/zeva");
  for (const auto& m : Manifests()) {
    if (m.doc["kind"].as<std::string>() != "ConfigMap") continue;
    YAML::Emitter out;
    out << m.doc;
    CHECK(!Contains(out.c_str(), "localhost"));  // no dev address reaches production
  }

  // render.sh, which the workflow and skaffold run first, refuses the placeholders.
  if (KubectlKustomize(Src("deploy/k8s/migrate"))) {
    const auto refused = RunCommand({"bash", Src("deploy/scripts/render.sh"),
                                     Src("deploy/k8s/overlays/production"), "--check"});
    INFO(refused.output);
    CHECK(refused.exit_code != 0);
    CHECK(Contains(refused.output, "KEYCLOAK_ISSUER"));
    const auto accepted = RunCommand(
        {"bash", Src("deploy/scripts/render.sh"), Src("deploy/k8s/overlays/dev"), "--check"});
    INFO(accepted.output);
    CHECK(accepted.exit_code == 0);
  }
}

TEST_CASE("every pod meets Pod Security \"restricted\" and mounts no service account token",
          "[deploy]") {
  for (const auto* view : {&Manifests(), &DevManifests()}) {
    for (const auto& workload : Workloads(*view)) {
      INFO(workload["kind"].as<std::string>() << " " << Name(workload));
      const YAML::Node pod = workload["spec"]["template"]["spec"];
      CHECK(pod["automountServiceAccountToken"].IsDefined());
      CHECK(!pod["automountServiceAccountToken"].as<bool>(true));
      CHECK(pod["securityContext"]["runAsNonRoot"].as<bool>(false));
      CHECK(pod["securityContext"]["runAsUser"].as<int>(0) != 0);
      CHECK(pod["securityContext"]["seccompProfile"]["type"].as<std::string>("") ==
            "RuntimeDefault");
      CHECK(!pod["hostNetwork"].IsDefined());
      for (const char* list : {"initContainers", "containers"}) {
        for (const auto& container : pod[list]) {
          INFO(container["name"].as<std::string>());
          const YAML::Node sc = container["securityContext"];
          CHECK(sc["allowPrivilegeEscalation"].IsDefined());
          CHECK(!sc["allowPrivilegeEscalation"].as<bool>(true));
          CHECK(sc["readOnlyRootFilesystem"].as<bool>(false));
          CHECK(Strings(sc["capabilities"]["drop"]) == std::vector<std::string>{"ALL"});
          CHECK(!sc["capabilities"]["add"].IsDefined());
          CHECK(!sc["privileged"].as<bool>(false));
          for (const char* kind : {"requests", "limits"}) {
            CHECK(container["resources"][kind]["memory"].IsScalar());
          }
        }
      }
    }
  }
  // The long-running Deployments have probes and a PodDisruptionBudget.
  for (const char* name : {"zeva-transaction-service", "envoy"}) {
    INFO(name);
    const YAML::Node deployment = Object("Deployment", name);
    const YAML::Node container = FirstContainer(deployment);
    CHECK(container["readinessProbe"].IsMap());
    CHECK(container["livenessProbe"].IsMap());
    const YAML::Node pdb = Object("PodDisruptionBudget", name);
    CHECK(Selects(pdb["spec"]["selector"]["matchLabels"], PodLabels(deployment)));
    CHECK(pdb["spec"]["minAvailable"].as<int>() >= 1);
    CHECK(pdb["spec"]["minAvailable"].as<int>() < deployment["spec"]["replicas"].as<int>());
  }
}

TEST_CASE(
    "NetworkPolicies: the gRPC port from Envoy only, metrics from monitoring, the "
    "database from the service and the Job",
    "[deploy]") {
  const YAML::Node service = Object("Deployment", "zeva-transaction-service");
  const YAML::Node container = FirstContainer(service);
  const int grpc = ResolvePort(container, YAML::Node("grpc"));
  const int metrics = ResolvePort(container, YAML::Node("metrics"));
  REQUIRE(grpc > 0);
  REQUIRE(metrics > 0);
  // The gRPC port: every rule that admits it admits Envoy's pods and nothing else.
  const auto grpc_rules = RulesAdmitting(Manifests(), service, grpc);
  REQUIRE(!grpc_rules.empty());
  for (const auto& rule : grpc_rules) {
    CHECK(Admitted(Manifests(), rule) == std::set<std::string>{"envoy"});
  }
  // The metrics port: the monitoring namespace.
  const auto metrics_rules = RulesAdmitting(Manifests(), service, metrics);
  REQUIRE(metrics_rules.size() == 1);
  REQUIRE(metrics_rules[0]["from"].size() == 1);
  const YAML::Node peer = metrics_rules[0]["from"][0];
  CHECK(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as<std::string>() ==
        kMonitoringNamespace);
  CHECK(!peer["podSelector"].IsDefined());
  // Envoy: its traffic port only (the admin API is not offered at all).
  const YAML::Node envoy = Object("Deployment", "envoy");
  std::set<int> envoy_admitted;
  for (const auto& port : FirstContainer(envoy)["ports"]) {
    const int number = port["containerPort"].as<int>();
    if (!RulesAdmitting(Manifests(), envoy, number).empty()) envoy_admitted.insert(number);
  }
  CHECK(envoy_admitted == std::set<int>{ResolvePort(FirstContainer(envoy), YAML::Node("http"))});
  // The migration Job's pods admit nothing; the dev database admits the service and the Job.
  const YAML::Node job = Object("Job", "zeva-migrate");
  bool job_isolated = false;
  for (const auto& policy : NetworkPolicies(Manifests())) {
    if (!Selects(policy["spec"]["podSelector"]["matchLabels"], PodLabels(job))) continue;
    job_isolated |= !policy["spec"]["ingress"].IsDefined();
  }
  CHECK(job_isolated);
  const YAML::Node postgres = Object("Deployment", "postgres", DevManifests());
  const int postgres_port = ResolvePort(FirstContainer(postgres), YAML::Node("postgres"));
  const auto db_rules = RulesAdmitting(DevManifests(), postgres, postgres_port);
  REQUIRE(!db_rules.empty());
  std::set<std::string> db_clients;
  for (const auto& rule : db_rules) {
    for (const auto& name : Admitted(DevManifests(), rule)) db_clients.insert(name);
  }
  CHECK(db_clients == std::set<std::string>{"zeva-transaction-service", "zeva-migrate"});
  // Each policy isolates the pods it selects for ingress, and selects some pods.
  for (const auto* view : {&Manifests(), &DevManifests()}) {
    for (const auto& policy : NetworkPolicies(*view)) {
      INFO(Name(policy));
      CHECK(Strings(policy["spec"]["policyTypes"]) == std::vector<std::string>{"Ingress"});
      bool selects = false;
      for (const auto& workload : Workloads(*view)) {
        selects |= Selects(policy["spec"]["podSelector"]["matchLabels"], PodLabels(workload));
      }
      CHECK(selects);
    }
  }
}

TEST_CASE("Envoy's pod: admin on localhost, probes, a preStop drain, a pinned supported image",
          "[deploy]") {
  const YAML::Node envoy = EnvoyConfig();
  CHECK(envoy["admin"]["address"]["socket_address"]["address"].as<std::string>() == "127.0.0.1");
  const int admin_port = envoy["admin"]["address"]["socket_address"]["port_value"].as<int>();
  const YAML::Node deployment = Object("Deployment", "envoy");
  const YAML::Node container = FirstContainer(deployment);
  for (const auto& port : container["ports"]) CHECK(port["containerPort"].as<int>() != admin_port);

  // Readiness asks the `health` listener's health-check filter for /ready.
  const YAML::Node readiness = container["readinessProbe"]["httpGet"];
  const int probed = ResolvePort(container, readiness["port"]);
  bool health_listener = false;
  for (const auto& listener : envoy["static_resources"]["listeners"]) {
    if (listener["address"]["socket_address"]["port_value"].as<int>() != probed) continue;
    CHECK(listener["address"]["socket_address"]["address"].as<std::string>() == "0.0.0.0");
    for (const auto& filter :
         listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]) {
      if (filter["name"].as<std::string>() != "envoy.filters.http.health_check") continue;
      health_listener = true;
      CHECK(!filter["typed_config"]["pass_through_mode"].as<bool>(true));
      CHECK(filter["typed_config"]["headers"][0]["string_match"]["exact"].as<std::string>() ==
            readiness["path"].as<std::string>());
    }
  }
  CHECK(health_listener);

  // preStop: fail the health check and drain through the localhost admin port, then wait
  // longer than --drain-time-s and less than the grace period.
  const auto prestop = Strings(container["lifecycle"]["preStop"]["exec"]["command"]);
  REQUIRE(!prestop.empty());
  const std::string script = prestop.back();
  CHECK(Contains(script, "/dev/tcp/127.0.0.1/" + std::to_string(admin_port)));
  CHECK(Contains(script, "/drain_listeners?graceful"));
  CHECK(Contains(script, "/healthcheck/fail"));
  const auto args = Strings(container["args"]);
  const auto drain_flag = std::find(args.begin(), args.end(), "--drain-time-s");
  REQUIRE(drain_flag != args.end());
  const int drain_seconds = std::stoi(*(drain_flag + 1));
  const int sleep_seconds = PreStopSleepSeconds(container);
  CHECK(sleep_seconds > drain_seconds);
  CHECK(deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as<int>() >
        sleep_seconds);

  // A pinned patch release of a supported line, never a moving tag.
  const std::string image = container["image"].as<std::string>();
  std::smatch version;
  INFO(image);
  REQUIRE(std::regex_match(
      image, version, std::regex(R"(envoyproxy/envoy:v1\.(\d+)\.(\d+)(@sha256:[0-9a-f]{64})?)")));
  CHECK(std::stoi(version[1].str()) >= kMinSupportedEnvoyMinor);
}

TEST_CASE("CORS admits configured origins only, the frontend's by default, never *", "[deploy]") {
  auto origins = [](const YAML::Node& envoy) {
    const YAML::Node host = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"]
                                 [0]["typed_config"]["route_config"]["virtual_hosts"][0];
    std::vector<std::string> out;
    for (const auto& match :
         host["typed_per_filter_config"]["envoy.filters.http.cors"]["allow_origin_string_match"]) {
      CHECK(match.size() == 1);  // exact matches only: no prefix, suffix, regex or contains
      out.push_back(match["exact"].as<std::string>(""));
    }
    return out;
  };
  CHECK(origins(EnvoyConfig()) == std::vector<std::string>{"http://localhost:3000"});

  const std::string script = Src("deploy/scripts/render-envoy-config.sh");
  const auto rendered = RunCommand(
      {"bash", script},
      {{"ENVOY_ALLOWED_ORIGINS", "https://zeva.example.org, https://zeva-test.example.org:8443"}});
  REQUIRE(rendered.exit_code == 0);
  CHECK(origins(YAML::Load(rendered.output)) ==
        std::vector<std::string>{"https://zeva.example.org", "https://zeva-test.example.org:8443"});
  for (const char* bad : {"*", "https://*.example.org", "https://zeva.example.org/app", "zeva"}) {
    INFO(bad);
    CHECK(RunCommand({"bash", script}, {{"ENVOY_ALLOWED_ORIGINS", bad}}).exit_code != 0);
  }
  // Production requires the setting; dev falls back to the file's.
  CHECK(RunCommand({"bash", script, "--require-origins"}, {{"ENVOY_ALLOWED_ORIGINS", ""}})
            .exit_code != 0);
  CHECK(RunCommand({"bash", script}, {{"ENVOY_ALLOWED_ORIGINS", ""}}).output ==
        ReadTextFile(Src("deploy/envoy/envoy.yaml")));
}

TEST_CASE(
    "the rollout timeline: preStop outlasts DNS, the drain fits the grace period, Envoy "
    "retries safe calls on another replica",
    "[deploy]") {
  const YAML::Node envoy = EnvoyConfig();
  const YAML::Node cluster = Cluster(envoy, "python_transaction_service");
  const YAML::Node deployment = Object("Deployment", "zeva-transaction-service");
  const YAML::Node container = FirstContainer(deployment);
  const int prestop = PreStopSleepSeconds(container);
  const double dns_refresh = EnvoySeconds(cluster["dns_refresh_rate"]);
  const YAML::Node check = cluster["health_checks"][0];
  const double health_detection =
      EnvoySeconds(check["interval"]) * check["unhealthy_threshold"].as<int>();
  const int grace = std::stoi(
      Object("ConfigMap", "zeva-transaction-service-config")["data"]["SHUTDOWN_GRACE_SECONDS"]
          .as<std::string>());
  const int termination =
      deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as<int>();
  INFO("preStop " << prestop << " s, DNS " << kDnsPropagationSeconds << " + " << dns_refresh
                  << " s, health checks " << health_detection << " s, drain " << grace
                  << " s, termination grace " << termination << " s");
  CHECK(!cluster["respect_dns_ttl"].as<bool>(true));
  CHECK(prestop > kDnsPropagationSeconds + dns_refresh);  // Envoy forgets the pod first
  CHECK(prestop >= health_detection);
  // The grace period counts from preStop's start; it must outlast the server's own deadline.
  CHECK(termination > prestop + grace + kForcedExitSeconds);

  // Reads retry on UNAVAILABLE, resets and failed connections, on another replica; writes
  // only when the request provably never reached a replica.
  for (const auto& [service, method] : ContractMethods()) {
    INFO(service << "/" << method);
    const EdgeRetry retry = EnvoyRetryFor(envoy, service, method);
    const bool write = method.rfind("Create", 0) == 0 || method.rfind("Update", 0) == 0;
    CHECK(retry.num_retries >= 1);
    CHECK(retry.previous_hosts);
    CHECK(retry.retry_on.count("connect-failure") == 1);
    CHECK(retry.retry_on.count("unavailable") == (write ? 0u : 1u));
    CHECK(retry.retry_on.count("reset") == (write ? 0u : 1u));
    CHECK_NOTHROW(GrpcCodesFor(retry.retry_on));  // conditions a gRPC client can mirror
  }
  // Between health checks, outlier detection ejects a replica that keeps answering 503
  // (UNAVAILABLE), never more than one of the three.
  const YAML::Node outlier = cluster["outlier_detection"];
  CHECK(outlier["consecutive_gateway_failure"].as<int>() >= 1);
  CHECK(outlier["enforcing_consecutive_gateway_failure"].as<int>() == 100);
  CHECK(outlier["max_ejection_percent"].as<int>() * deployment["spec"]["replicas"].as<int>() < 200);
  // The header limits that shield the replicas' HTTP/2 stack are stated.
  const YAML::Node hcm =
      envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
  CHECK(hcm["max_request_headers_kb"].as<int>() <= 60);
  CHECK(hcm["common_http_protocol_options"]["max_headers_count"].as<int>() <= 100);
}

TEST_CASE("kubectl-env.sh works by hand, from CI and from skaffold hooks", "[deploy]") {
  // A stand-in kubectl prints its arguments; `set -u` as in the scripts that source it.
  auto kube = [](const std::string& vars) {
    return RunCommand(
        {"env", "-u", "NAMESPACE", "-u", "SKAFFOLD_NAMESPACES", "-u", "SKAFFOLD_KUBE_CONTEXT",
         "bash", "-c",
         "set -euo pipefail; source \"$0\"; kubectl() { echo \"$*\"; }; " + vars + " kube get pods",
         Src("deploy/scripts/kubectl-env.sh")});
  };
  const auto by_hand = kube("");
  INFO(by_hand.output);
  CHECK(by_hand.exit_code == 0);
  CHECK(by_hand.output == "get pods\n");
  CHECK(kube("NAMESPACE=zeva").output == "--namespace zeva get pods\n");
  CHECK(kube("SKAFFOLD_NAMESPACES=a,b SKAFFOLD_KUBE_CONTEXT=kind").output ==
        "--context kind --namespace a get pods\n");
}
