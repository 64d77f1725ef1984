#include "server/transport.h"

#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace zeva::server {
namespace {

absl::Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return absl::OkStatus();
}

}  // namespace

absl::Status ConfigureTransport(const config::ServerConfig& config, grpc::ServerBuilder& builder,
                                int* bound_port) {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!config.tls_cert_file.empty()) {
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (absl::Status s = ReadFile(config.tls_key_file, &pair.private_key); !s.ok()) return s;
    if (absl::Status s = ReadFile(config.tls_cert_file, &pair.cert_chain); !s.ok()) return s;
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back(std::move(pair));
    credentials = grpc::SslServerCredentials(options);
  }
  builder.AddListeningPort(absl::StrCat(config.listen_address, ":", config.port), credentials,
                           bound_port);

  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, config.keepalive_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, config.keepalive_timeout_ms);
  // Clients (Envoy) may ping idle connections every 10 s without being sent GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, config.max_connection_age_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             config.max_connection_age_grace_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  // Request headers up to Envoy's default cap (max_request_headers_kb: 60 KiB) reach the
  // handlers, so an oversized `authorization` is answered UNAUTHENTICATED by the
  // authenticator. gRPC's default (8 KiB) would instead refuse such a call with
  // RESOURCE_EXHAUSTED and close the HTTP/2 connection, failing the other calls Envoy
  // multiplexes on it. Larger headers (direct clients only) still get that treatment.
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, kMaxRequestMetadataBytes);
  // No request compression: the service has no use for it, and gRPC 1.51 inflates a
  // compressed message before it checks the size limit, so 65 KB of gzip became 64 MiB of
  // memory per call. Disabled algorithms are refused (UNIMPLEMENTED) before inflation.
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_GZIP, false);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);

  // Every contract method is on the callback API (services/call_guard): gRPC's synchronous
  // server is left only the reflection service. Its pollers still take part in polling the
  // transport: with gRPC's default (1 to 2) instead of these, the health Check (a callback
  // service of gRPC's own) cost 1.12x the server CPU per call (bench/compare-builds.sh, 1.04x
  // with them).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS,
                              config.min_pollers);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              config.max_pollers);
  return absl::OkStatus();
}

}  // namespace zeva::server
