#include "broker/outbox_messages.h"

#include <nlohmann/json.hpp>

namespace zeva::broker {

std::vector<OutboundMessage> MessagesOf(const domain::OutboxEvent& event) {
  nlohmann::json body = {{"event_id", event.id},
                         {"event_type", event.event_type},
                         {"occurred_at", event.occurred_at},
                         {"actor", event.actor},
                         {"organization_ids", event.organization_ids},
                         {"recipients", event.recipients}};
  // A recorded transfer names its journal as well.
  if (event.transfer_id != 0) body["transfer_id"] = event.transfer_id;
  if (event.journal_id != 0) body["journal_id"] = event.journal_id;
  if (event.icbc_import_id != 0) body["icbc_import_id"] = event.icbc_import_id;
  if (event.application_id != 0) body["application_id"] = event.application_id;
  if (event.model_year_report_id != 0) {
    body["model_year_report_id"] = event.model_year_report_id;
  }

  std::vector<OutboundMessage> messages;
  messages.reserve(1 + event.recipients.size());
  // dump's replace handler: usernames are stored text and must never make dump() throw.
  messages.push_back(OutboundMessage{
      kEventsExchange, event.event_type, event.id,
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), event.id});
  for (const std::string& username : event.recipients) {
    const nlohmann::json notification = {{"type", "notification"}, {"audience", username}};
    messages.push_back(OutboundMessage{
        kNotificationsExchange, "", event.id + "." + username,
        notification.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), event.id});
  }
  return messages;
}

}  // namespace zeva::broker
