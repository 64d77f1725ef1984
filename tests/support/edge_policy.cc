#include "tests/support/edge_policy.h"

#include <google/protobuf/descriptor.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "organizations.grpc.pb.h"
#include "transactions.grpc.pb.h"
#include "zevs.grpc.pb.h"

namespace zeva::testing {
namespace {

YAML::Node GrpcVirtualHost(const YAML::Node& envoy) {
  return envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
              ["route_config"]["virtual_hosts"][0];
}

bool RouteMatches(const YAML::Node& match, const std::string& path) {
  if (match["prefix"]) return path.rfind(match["prefix"].as<std::string>(), 0) == 0;
  if (match["path"]) return path == match["path"].as<std::string>();
  if (match["safe_regex"]) {
    return std::regex_match(path, std::regex(match["safe_regex"]["regex"].as<std::string>()));
  }
  throw std::runtime_error("a route match the tests do not know");
}

double Seconds(const YAML::Node& duration, double fallback) {
  if (!duration.IsDefined()) return fallback;
  const std::string text = duration.as<std::string>();
  return std::stod(text.substr(0, text.size() - 1));  // "0.025s"
}

std::string Duration(double seconds) {
  std::ostringstream out;
  out << seconds << "s";
  return out.str();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ContractMethods() {
  std::vector<std::pair<std::string, std::string>> methods;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* name : {zeva::transactions::TransactionList::service_full_name(),
                           zeva::organizations::OrganizationDetails::service_full_name(),
                           zeva::transactions::ZEVModels::service_full_name()}) {
    const auto* service = pool->FindServiceByName(name);
    if (service == nullptr) throw std::runtime_error(std::string("no descriptor for ") + name);
    for (int i = 0; i < service->method_count(); ++i) {
      methods.emplace_back(service->full_name(), service->method(i)->name());
    }
  }
  return methods;
}

EdgeRetry EnvoyRetryFor(const YAML::Node& envoy, const std::string& service,
                        const std::string& method) {
  const std::string path = "/grpc/" + service + "/" + method;
  for (const auto& route : GrpcVirtualHost(envoy)["routes"]) {
    if (!RouteMatches(route["match"], path)) continue;
    EdgeRetry retry;
    const YAML::Node policy = route["route"]["retry_policy"];
    if (!policy.IsDefined()) return retry;
    std::stringstream conditions(policy["retry_on"].as<std::string>());
    for (std::string condition; std::getline(conditions, condition, ',');) {
      retry.retry_on.insert(condition);
    }
    retry.num_retries = policy["num_retries"] ? policy["num_retries"].as<int>() : 1;
    for (const auto& predicate : policy["retry_host_predicate"]) {
      retry.previous_hosts |=
          predicate["name"].as<std::string>() == "envoy.retry_host_predicates.previous_hosts";
    }
    if (const YAML::Node back_off = policy["retry_back_off"]) {
      retry.base_interval = Seconds(back_off["base_interval"], retry.base_interval);
      retry.max_interval = Seconds(back_off["max_interval"], 10 * retry.base_interval);
    }
    return retry;
  }
  throw std::runtime_error("no Envoy route serves " + path);
}

std::set<std::string> GrpcCodesFor(const std::set<std::string>& retry_on) {
  // A stream the server resets (RST_STREAM CANCEL: e.g. a call it had accepted but dropped
  // as it shut down) ends CANCELLED in a gRPC client, a broken connection UNAVAILABLE.
  static const std::map<std::string, std::vector<std::string>> kCodes = {
      {"cancelled", {"CANCELLED"}},     {"deadline-exceeded", {"DEADLINE_EXCEEDED"}},
      {"internal", {"INTERNAL"}},       {"resource-exhausted", {"RESOURCE_EXHAUSTED"}},
      {"unavailable", {"UNAVAILABLE"}}, {"reset", {"CANCELLED", "UNAVAILABLE"}},
      {"connect-failure", {}},          {"refused-stream", {}}};
  std::set<std::string> codes;
  for (const auto& condition : retry_on) {
    const auto it = kCodes.find(condition);
    if (it == kCodes.end()) throw std::runtime_error("unknown retry_on condition " + condition);
    codes.insert(it->second.begin(), it->second.end());
  }
  return codes;
}

std::string EdgeServiceConfig(const YAML::Node& envoy, bool with_retries, bool with_health_check) {
  YAML::Node cluster;
  for (const auto& candidate : envoy["static_resources"]["clusters"]) {
    if (candidate["name"].as<std::string>() == "python_transaction_service") {
      cluster = static_cast<const YAML::Node&>(candidate);
    }
  }
  nlohmann::json config = {{"loadBalancingConfig", {{{"round_robin", nlohmann::json::object()}}}},
                           {"methodConfig", nlohmann::json::array()}};
  if (with_health_check) {
    config["healthCheckConfig"] = {
        {"serviceName",
         cluster["health_checks"][0]["grpc_health_check"]["service_name"].as<std::string>()}};
  }
  for (const auto& [service, method] : ContractMethods()) {
    nlohmann::json entry = {{"name", {{{"service", service}, {"method", method}}}}};
    const EdgeRetry retry = EnvoyRetryFor(envoy, service, method);
    const auto codes = GrpcCodesFor(retry.retry_on);
    if (with_retries && !codes.empty()) {
      entry["retryPolicy"] = {{"maxAttempts", retry.num_retries + 1},
                              {"initialBackoff", Duration(retry.base_interval)},
                              {"maxBackoff", Duration(retry.max_interval)},
                              {"backoffMultiplier", 2},
                              {"retryableStatusCodes", codes}};
    }
    config["methodConfig"].push_back(entry);
  }
  return config.dump();
}

}  // namespace zeva::testing
