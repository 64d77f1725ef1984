#include "domain/refusal.h"

#include "absl/strings/cord.h"

namespace zeva::domain {
namespace {

constexpr char kRefusalPayload[] = "type.zeva/refusal";

}  // namespace

absl::Status Refusal(absl::StatusCode code, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kRefusalPayload, absl::Cord("1"));
  return status;
}

bool IsRefusal(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kRefusalPayload).has_value();
}

}  // namespace zeva::domain
