#pragma once
// gRPC parses a request before any handler runs, so a body that is not the method's protobuf
// never reaches CallGuard: gRPC answers it INTERNAL with an empty message (proto3 has no
// initialization errors to report), logs nothing and counts nothing. This interceptor turns
// that answer into INVALID_ARGUMENT with a message, and logs and counts the call like every
// other. CallGuard never sends INTERNAL without a message, so nothing else is touched.
// Methods on gRPC's callback API (every contract method) get UNIMPLEMENTED with an empty
// message instead (grpc 1.51, server_callback_handlers.h: a request that did not parse gets no
// reactor); for those methods, and only those (an unknown method must stay UNIMPLEMENTED),
// that is mapped the same way.

#include <grpcpp/support/server_interceptor.h>

#include <set>
#include <string>

#include "services/call_guard.h"

namespace zeva::services {

class UnparsedRequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `callback_methods`: full names ("/package.Service/Method") of the callback-API methods.
  UnparsedRequestInterceptorFactory(CallObserver observer, std::set<std::string> callback_methods)
      : observer_(std::move(observer)), callback_methods_(std::move(callback_methods)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CallObserver observer_;
  const std::set<std::string> callback_methods_;
};

}  // namespace zeva::services
