#pragma once
// The lookups every workflow table answers (transfers, credit applications): the row for an
// action, and what a caller may do now. A table is a vector of rows with `from`, `action`,
// `party` and `role` members; only the types and the words of the refusals differ.

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "domain/credit_ledger.h"
#include "domain/refusal.h"

namespace zeva::domain {

// How refusals name the thing a table governs: "transfer", "a transfer".
struct WorkflowNoun {
  const char* name;
  const char* with_article;
};

// The row for `action` from `status`: PERMISSION_DENIED when no row (in any status) names the
// action for the caller's party and roles; FAILED_PRECONDITION (INVALID_STATUS) when rows do
// but none from `status`. `status_name` and `action_name` spell them for the message.
template <typename Row, typename Status, typename Action, typename Party>
absl::StatusOr<Row> DecideIn(const std::vector<Row>& table, Status status, Action action,
                             Party party, bool government, const std::vector<std::string>& roles,
                             WorkflowNoun noun, const char* status_name, const char* action_name) {
  bool named = false;
  for (const Row& row : table) {
    if (row.action != action || row.party != party || !HasRole(government, roles, row.role)) {
      continue;
    }
    named = true;
    if (row.from == status) return row;
  }
  if (!named) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   absl::StrCat("you may not ", action_name, " this ", noun.name),
                   "PERMISSION_DENIED", "action");
  }
  return Refusal(absl::StatusCode::kFailedPrecondition,
                 absl::StrCat(noun.with_article, " in status ", status_name,
                              " cannot be given the action ", action_name),
                 kReasonInvalidStatus, "action");
}

// What the caller may do now, in enum order.
template <typename Row, typename Status, typename Action, typename Party>
std::vector<Action> AllowedIn(const std::vector<Row>& table, Status status, Party party,
                              bool government, const std::vector<std::string>& roles) {
  std::set<int> allowed;
  for (const Row& row : table) {
    if (row.from == status && row.party == party && HasRole(government, roles, row.role)) {
      allowed.insert(static_cast<int>(row.action));
    }
  }
  std::vector<Action> out;
  out.reserve(allowed.size());
  for (int action : allowed) out.push_back(static_cast<Action>(action));
  return out;
}

}  // namespace zeva::domain
