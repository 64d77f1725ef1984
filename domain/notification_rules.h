#pragma once
// Which event every committed change of credits emits, and who is notified of it
// (docs/credits.md, "Notifications and events"). The acting user is never notified.

#include <cstdint>
#include <string>
#include <vector>

#include "domain/transfer_workflow.h"

namespace zeva::domain {

// Who receives an event's notification: every user of these organizations, and the
// government users holding these roles.
struct Recipients {
  std::vector<int64_t> organizations;
  std::vector<Role> government_roles;
  std::vector<std::string> users;  // by username (an import's uploader)
};

struct Event {
  std::string type;     // "credits.transfer.submitted", also the routing key
  std::string message;  // one human-readable sentence
  Recipients recipients;
};

// CreateTransfer and UpdateTransfer: no one is notified.
Event TransferCreated(int64_t transfer_id);
Event TransferUpdated(int64_t transfer_id);
// A transition from `from` by `action` of the transfer between `seller` and `buyer`, taken by
// a user of `actor_organization_id`.
Event TransferTransitioned(int64_t transfer_id, TransferAction action, TransferStatus from,
                           int64_t seller, int64_t buyer, int64_t actor_organization_id);
// A journal posted by IssueCredits, AdjustCredits or ReverseJournal ("ISSUANCE", ...): the
// users of each supplier with an entry.
Event JournalPosted(int64_t journal_id, const std::string& kind,
                    const std::vector<int64_t>& suppliers);

// An ICBC import finished by zeva-worker: "icbc.import.completed" (with its counts) or
// "icbc.import.failed" (with `failure`), to the uploader.
Event IcbcImportFinished(int64_t import_id, const std::string& file_name, bool completed,
                         const std::string& uploader, int64_t added, int64_t changed,
                         const std::string& failure);

}  // namespace zeva::domain
