#include "domain/refusal.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace zeva::domain {
namespace {

constexpr char kRefusalPayload[] = "type.zeva/refusal";
constexpr char kReasonPayload[] = "type.zeva/reason";
constexpr char kFieldPayload[] = "type.zeva/field";
constexpr absl::string_view kMetadataPayload = "type.zeva/metadata/";

std::string Payload(const absl::Status& status, const char* url) {
  auto payload = status.GetPayload(url);
  return payload ? std::string(*payload) : std::string();
}

}  // namespace

absl::Status Refusal(absl::StatusCode code, absl::string_view message, absl::string_view reason,
                     absl::string_view field) {
  absl::Status status(code, message);
  status.SetPayload(kRefusalPayload, absl::Cord("1"));
  if (!reason.empty()) status.SetPayload(kReasonPayload, absl::Cord(reason));
  if (!field.empty()) status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

absl::Status InvalidField(absl::string_view field, absl::string_view problem) {
  return Refusal(absl::StatusCode::kInvalidArgument, absl::StrCat(field, " ", problem),
                 "INVALID_ARGUMENT", field);
}

absl::Status WithMetadata(absl::Status refusal, absl::string_view key, absl::string_view value) {
  refusal.SetPayload(absl::StrCat(kMetadataPayload, key), absl::Cord(value));
  return refusal;
}

void ForEachRefusalMetadata(
    const absl::Status& status,
    const std::function<void(absl::string_view key, absl::string_view value)>& visit) {
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (absl::StartsWith(url, kMetadataPayload)) {
      visit(url.substr(kMetadataPayload.size()), std::string(payload));
    }
  });
}

bool IsRefusal(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kRefusalPayload).has_value();
}

std::string RefusalReason(const absl::Status& status) { return Payload(status, kReasonPayload); }

std::string RefusalField(const absl::Status& status) { return Payload(status, kFieldPayload); }

}  // namespace zeva::domain
