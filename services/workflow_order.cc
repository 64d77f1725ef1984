#include "services/workflow_order.h"

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"

namespace zeva::services {

absl::Status CheckVersion(const char* what, uint32_t expected, int current) {
  if (expected != 0 && static_cast<int>(expected) != current) {
    return domain::Refusal(absl::StatusCode::kAborted,
                           absl::StrCat("the ", what, " is at version ", current, ", not ",
                                        expected, "; read it again"),
                           "VERSION_MISMATCH", "expected_version");
  }
  return absl::OkStatus();
}

}  // namespace zeva::services
