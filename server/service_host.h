#pragma once
// Wires the contract's services, health and reflection into one gRPC server and runs it
// until SIGTERM/SIGINT, then drains in-flight calls for the configured grace period.

#include "config/server_config.h"

namespace zeva::server {

// Blocks until the server has shut down. Returns the process exit code.
// SIGTERM and SIGINT must already be blocked in every thread (runtime::BlockShutdownSignals).
int RunServer(const config::ServerConfig& config);

}  // namespace zeva::server
