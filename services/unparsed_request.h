#pragma once
// gRPC parses a request before any handler runs, so a body that is not the method's protobuf
// never reaches CallGuard: gRPC answers it INTERNAL with an empty message (proto3 has no
// initialization errors to report), logs nothing and counts nothing. This interceptor turns
// that answer into INVALID_ARGUMENT with a message, and logs and counts the call like every
// other. CallGuard never sends INTERNAL without a message, so nothing else is touched (an
// unknown method stays UNIMPLEMENTED). Every method is on the synchronous API; a method on
// gRPC's callback API would get UNIMPLEMENTED instead (grpc 1.51, server_callback_handlers.h).

#include <grpcpp/support/server_interceptor.h>

#include "services/call_guard.h"

namespace zeva::services {

class UnparsedRequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit UnparsedRequestInterceptorFactory(CallObserver observer)
      : observer_(std::move(observer)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CallObserver observer_;
};

}  // namespace zeva::services
