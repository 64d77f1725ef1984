#pragma once
// ICBC registration data (docs/icbc.md): the rules of an upload's metadata, of VINs and of
// one data row of an extract. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "domain/vin.h"  // IsValidVin, NormalizeVin

namespace zeva::domain {

inline constexpr int64_t kIcbcMaxFileBytes = int64_t{2} * 1024 * 1024 * 1024;  // 2 GiB
inline constexpr int64_t kIcbcMaxChunkBytes = int64_t{1024} * 1024;            // 1 MiB
inline constexpr int kIcbcFirstModelYear = 2019;  // older rows are dropped
inline constexpr size_t kIcbcMaxListedErrors = 100;

inline constexpr char kReasonOffsetMismatch[] = "OFFSET_MISMATCH";
inline constexpr char kReasonIncompleteUpload[] = "INCOMPLETE_UPLOAD";
inline constexpr char kReasonChecksumMismatch[] = "CHECKSUM_MISMATCH";

enum class IcbcImportStatus {
  kUnspecified = 0,
  kUploading = 1,
  kQueued = 2,
  kProcessing = 3,
  kCompleted = 4,
  kFailed = 5,
  kCancelled = 6
};
const char* IcbcStatusName(IcbcImportStatus status);  // "UPLOADING", as stored
IcbcImportStatus IcbcStatusNamed(absl::string_view name);

// StartIcbcImport's fields, each an INVALID_ARGUMENT refusal naming the field when wrong:
// file_name 1..255 characters (UTF-8), size 1..2 GiB, sha256 64 lower-case hex digits,
// current_to a valid date not after `today` (y, m, d of the UTC calendar).
struct IcbcStartInput {
  std::string file_name;
  int year = 0, month = 0, day = 0;
  uint64_t size_bytes = 0;
  std::string sha256;
};
absl::Status CheckIcbcStart(const IcbcStartInput& input, int today_year, int today_month,
                            int today_day);

// One data row of an extract, its values already trimmed; the optional columns are nullopt
// when the file lacks them.
struct IcbcRowValues {
  std::string vin, make, model, model_year;
  std::optional<std::string> hybrid_flag, electric_flag, fuel_type;
};
struct IcbcRowVerdict {
  enum class Kind { kKept, kDropped, kRejected };
  Kind kind = Kind::kKept;
  std::string reason;      // kRejected: what is wrong, one sentence
  std::string vin;         // kKept: upper-cased
  int32_t model_year = 0;  // kKept
};
// Rules 2 to 5 of the contract's "The file" (rule 1, the number of fields, is the parser's).
IcbcRowVerdict JudgeIcbcRow(const IcbcRowValues& row);

}  // namespace zeva::domain
