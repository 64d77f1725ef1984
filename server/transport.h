#pragma once
// How the gRPC port is offered: plaintext or TLS, keepalive and connection age (so that
// Envoy's long-lived HTTP/2 connections rebalance over replicas), message and stream limits,
// and the thread cap of the synchronous server.

#include <grpcpp/server_builder.h>

#include "absl/status/status.h"
#include "config/server_config.h"

namespace zeva::server {

// The largest request header block (all metadata of one call) the server accepts.
inline constexpr int kMaxRequestMetadataBytes = 64 * 1024;

// Adds the listening port and the transport settings to `builder`. `bound_port` receives the
// port once the server is built. Fails when TLS files cannot be read.
absl::Status ConfigureTransport(const config::ServerConfig& config, grpc::ServerBuilder& builder,
                                int* bound_port);

}  // namespace zeva::server
