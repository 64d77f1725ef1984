#include "services/unparsed_request.h"

#include <cstring>

#include "spdlog/spdlog.h"

namespace zeva::services {
namespace {

using grpc::experimental::InterceptionHookPoints;

class UnparsedRequestInterceptor : public grpc::experimental::Interceptor {
 public:
  UnparsedRequestInterceptor(const char* full_method, const CallObserver& observer,
                             bool callback_method)
      : observer_(observer),
        unparsed_code_(callback_method ? grpc::StatusCode::UNIMPLEMENTED
                                       : grpc::StatusCode::INTERNAL) {
    // "/zeva.transactions.ZEVModels/ListModels" -> "ListModels", as CallGuard names calls.
    const char* slash = full_method != nullptr ? std::strrchr(full_method, '/') : nullptr;
    method_ = slash != nullptr ? slash + 1 : (full_method != nullptr ? full_method : "?");
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == unparsed_code_ && status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "the request body is not a valid protobuf message of this method's request type"));
        spdlog::info(
            "call {} status=INVALID_ARGUMENT duration_us=0 caller=- request_id=- "
            "detail=unparseable request body",
            method_);
        if (observer_) observer_(method_, absl::StatusCode::kInvalidArgument, 0.0);
      }
    }
    methods->Proceed();
  }

 private:
  const CallObserver& observer_;
  const grpc::StatusCode unparsed_code_;  // how gRPC answers a request that did not parse
  const char* method_;
};

}  // namespace

grpc::experimental::Interceptor* UnparsedRequestInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const bool callback_method =
      info->method() != nullptr && callback_methods_.count(info->method()) > 0;
  return new UnparsedRequestInterceptor(info->method(), observer_, callback_method);
}

}  // namespace zeva::services
