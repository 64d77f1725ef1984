#pragma once
// Wires zeva-worker together and runs it until SIGTERM/SIGINT: the database pool and the
// outbox store, the LISTEN thread, the RabbitMQ lane and (with SMTP_URL) the e-mail lane on
// threads of their own, a monitor that publishes the lag and prunes delivered events, and
// the gRPC health and Prometheus endpoints.

#include "config/worker_config.h"

namespace zeva::worker {

// Blocks until the worker has stopped; returns the process exit code. SIGTERM and SIGINT
// must already be blocked in every thread (runtime::BlockShutdownSignals).
int RunWorker(const config::WorkerConfig& config);

}  // namespace zeva::worker
