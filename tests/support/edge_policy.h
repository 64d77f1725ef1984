#pragma once
// What Envoy's configuration (deploy/envoy/envoy.yaml) does for each contract method under
// /grpc/, and the same policy as a gRPC client's service config: the [deploy] tests check
// the routes with it, and the rolling-update replay applies it in its client.

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace zeva::testing {

// Every method of the contract's services: {"zeva.transactions.ZEVModels", "ListModels"}, ...
std::vector<std::pair<std::string, std::string>> ContractMethods();

struct EdgeRetry {
  std::set<std::string> retry_on;  // Envoy's conditions, e.g. "unavailable", "reset"
  int num_retries = 0;
  bool previous_hosts = false;   // retries go to another replica
  double base_interval = 0.025;  // Envoy's defaults
  double max_interval = 0.25;
};

// The /grpc/ route of the virtual host that serves `/grpc/SERVICE/METHOD`, the first that
// matches (prefix, path or safe_regex), and its retry policy; throws when none matches.
EdgeRetry EnvoyRetryFor(const YAML::Node& envoy, const std::string& service,
                        const std::string& method);

// The gRPC status codes a client sees for Envoy's retry conditions: the gRPC ones by name;
// a reset as CANCELLED (the stream reset) or UNAVAILABLE (the connection). Failed
// connections and refused streams are left out: gRPC clients retry those transparently.
// Throws on a condition it does not know.
std::set<std::string> GrpcCodesFor(const std::set<std::string>& retry_on);

// A gRPC service config that balances round robin over every resolved address (as Envoy's
// STRICT_DNS cluster does), when `with_health_check` health-checks them on the service
// Envoy's health check asks about (a Watch: quicker than Envoy's polling), and when
// `with_retries` retries each method as its Envoy route does (the same codes,
// num_retries + 1 attempts, the same backoff).
std::string EdgeServiceConfig(const YAML::Node& envoy, bool with_retries, bool with_health_check);

}  // namespace zeva::testing
