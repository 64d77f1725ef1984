#pragma once
// zeva.credits.v1.NotificationService: the caller's own notifications. The table is the truth;
// RabbitMQ only tells the browser to list them again.

#include "db/notification_store.h"
#include "services/call_guard.h"
#include "zeva/credits/v1/credits.grpc.pb.h"

namespace zeva::services {

class NotificationService final : public zeva::credits::v1::NotificationService::CallbackService {
 public:
  NotificationService(CallGuard& guard, db::NotificationStore& store)
      : guard_(guard), store_(store) {}

  grpc::ServerWriteReactor<zeva::credits::v1::Notification>* ListNotifications(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::ListNotificationsRequest* request) override;
  grpc::ServerUnaryReactor* MarkNotificationsRead(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::MarkNotificationsReadRequest* request,
      zeva::credits::v1::MarkNotificationsReadResponse* response) override;
  grpc::ServerUnaryReactor* CountUnreadNotifications(
      grpc::CallbackServerContext* context,
      const zeva::credits::v1::CountUnreadNotificationsRequest* request,
      zeva::credits::v1::CountUnreadNotificationsResponse* response) override;

 private:
  CallGuard& guard_;
  db::NotificationStore& store_;
};

}  // namespace zeva::services
