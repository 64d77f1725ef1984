#include "services/notification_service.h"

#include "domain/credit_ledger.h"
#include "services/credits_wire.h"
#include "services/wire_numbers.h"

namespace zeva::services {

grpc::ServerWriteReactor<credits::Notification>* NotificationService::ListNotifications(
    grpc::CallbackServerContext* context, const credits::ListNotificationsRequest* request) {
  return guard_.Stream<credits::Notification>(
      context, "ListNotifications",
      [=](const Call& call, RowWriter<credits::Notification>* writer) -> absl::Status {
        const int64_t after_id = AfterId(request->after_id());
        credits::Notification out;
        return store_.List(
            call.caller.user_id, request->unread_only(), after_id, request->limit(), call.budget,
            [&](const db::NotificationRecord& n) {
              out.set_id(static_cast<uint64_t>(n.id));
              out.set_event_type(n.event_type);
              out.set_message(n.message);
              out.set_transfer_id(static_cast<uint64_t>(n.transfer_id));
              out.set_journal_id(static_cast<uint64_t>(n.journal_id));
              out.set_icbc_import_id(static_cast<uint64_t>(n.icbc_import_id));
              out.set_application_id(static_cast<uint64_t>(n.application_id));
              out.set_model_year_report_id(static_cast<uint64_t>(n.model_year_report_id));
              FillTimestamp(n.created_micros, out.mutable_created_at());
              out.set_read(n.read);
              return !context->IsCancelled() && writer->Write(out);
            });
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* NotificationService::MarkNotificationsRead(
    grpc::CallbackServerContext* context, const credits::MarkNotificationsReadRequest* request,
    credits::MarkNotificationsReadResponse* response) {
  return guard_.Serve(
      context, "MarkNotificationsRead",
      [=](const Call& call) -> absl::Status {
        std::vector<int64_t> ids;
        for (uint64_t id : request->ids()) {
          auto checked = RequiredId("ids", id);
          if (!checked.ok()) return checked.status();
          ids.push_back(*checked);
        }
        auto marked = store_.MarkRead(call.caller.user_id, ids, call.budget);
        if (!marked.ok()) return marked.status();
        response->set_marked(static_cast<uint32_t>(*marked));
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

grpc::ServerUnaryReactor* NotificationService::CountUnreadNotifications(
    grpc::CallbackServerContext* context,
    const credits::CountUnreadNotificationsRequest* /*request*/,
    credits::CountUnreadNotificationsResponse* response) {
  return guard_.Serve(
      context, "CountUnreadNotifications",
      [=](const Call& call) -> absl::Status {
        auto unread = store_.CountUnread(call.caller.user_id, call.budget);
        if (!unread.ok()) return unread.status();
        response->set_unread(static_cast<uint32_t>(*unread));
        return absl::OkStatus();
      },
      domain::kErrorDomain);
}

}  // namespace zeva::services
