#pragma once
// Wires the contract's services, health and reflection into one gRPC server and runs it
// until SIGTERM/SIGINT, then drains in-flight calls for the configured grace period.

#include "config/server_config.h"

namespace zeva::server {

// Blocks until the server has shut down. Returns the process exit code.
// SIGTERM and SIGINT must already be blocked in every thread (see BlockShutdownSignals).
int RunServer(const config::ServerConfig& config);

// Blocks SIGTERM and SIGINT in the calling thread and the threads it creates later, so that
// one thread can wait for them with sigwait. Call first thing in main.
void BlockShutdownSignals();

}  // namespace zeva::server
