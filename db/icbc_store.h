#pragma once
// ICBC registration data (tables icbc_imports, icbc_import_chunks, icbc_registrations): the
// upload protocol's storage for the server, and the import's processing for zeva-worker.
// No gRPC types. docs/icbc.md tells the import's life.
//
// Every upload step locks the import's row (FOR UPDATE) before it decides, so chunks,
// commits and cancels of one import are serialised: of two chunks at one offset the second
// sees the first's bytes (a retry, or OFFSET_MISMATCH), and of a commit and a cancel the
// second sees what the first left.
//
// Processing (Apply) runs in ONE transaction: kept rows are copied (COPY, pqxx::stream_to)
// into a temporary table of that transaction, merged into icbc_registrations with one INSERT
// ... ON CONFLICT, and the import marked COMPLETED with its counts, its bytes deleted and its
// event written, all committed together; any failure rolls it all back, so registrations
// change wholly or not at all and readers see them before or after, never in part.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "db/idempotency.h"
#include "db/pool.h"
#include "db/statement.h"
#include "domain/icbc.h"
#include "domain/icbc_file.h"

namespace zeva::db {

// Migration 0015's trigger NOTIFYs here when an import's status changes (commit, cancel).
inline constexpr char kIcbcChannel[] = "zeva_icbc";

struct IcbcImportRecord {
  int64_t id = 0;
  domain::IcbcImportStatus status = domain::IcbcImportStatus::kUnspecified;
  std::string file_name;
  int current_to_year = 0, current_to_month = 0, current_to_day = 0;
  int64_t size_bytes = 0;
  std::string sha256;
  int64_t received_bytes = 0;
  std::string uploaded_by;
  int64_t created_micros = 0;
  int64_t finished_micros = 0;  // 0 while not finished
  int64_t rows_read = 0, rows_kept = 0, rows_rejected = 0;
  int64_t registrations_added = 0, registrations_changed = 0, registrations_unchanged = 0;
  std::vector<domain::IcbcLineError> errors;
  std::string failure;
};

struct RegistrationRecord {
  std::string vin, make, model;
  int32_t model_year = 0;
  int64_t import_id = 0;
};

// What an upload step did; `import_id` is the import to answer with when it is not a refusal.
struct IcbcOutcome {
  enum class Kind {
    kDone,             // changed (or created), or returned as it is
    kReplayed,         // Start: the key's earlier result
    kKeyReused,        // Start: the key was used for a different request
    kNotFound,         // no such import
    kNotAllowed,       // not the uploader (cancel: nor a director)
    kPastSize,         // chunk: bytes past size_bytes
    kInvalidStatus,    // chunk: not UPLOADING; cancel: PROCESSING or later
    kOffsetMismatch,   // chunk: `expected_offset` is where the next chunk goes
    kIncomplete,       // commit: not all bytes received
    kChecksumMismatch  // commit: the import is now FAILED
  };
  Kind kind = Kind::kDone;
  int64_t import_id = 0;
  int64_t expected_offset = 0;
  // The response stored with the key (kDone, kReplayed); nullopt when replaying a key stored
  // before migration 0019.
  std::optional<std::string> response{};
};

// The SHA-256 of bytes fed in order, lower-case hex (implemented outside db/).
class ByteDigest {
 public:
  virtual ~ByteDigest() = default;
  virtual void Update(absl::string_view bytes) = 0;
  virtual std::string HexDigest() = 0;
};
// A fresh digest for each attempt of a commit (a retried transaction starts over).
using NewDigest = std::function<std::unique_ptr<ByteDigest>()>;

// An import a worker took.
struct ClaimedImport {
  int64_t id = 0;
  std::string uploaded_by;
  std::string file_name;
  int attempts = 0;  // this claim included
};

// Feeds the kept rows of an import to Apply's COPY; returns the file's counts, or the reason
// the file fails the import (a domain failure, not an error) as `failure`.
struct ProducedFile {
  std::string failure;  // "" when the file was read whole
  domain::IcbcFileCounts counts;
};
using RowWriter = std::function<void(const domain::IcbcRow& row)>;
using RowProducer = std::function<absl::StatusOr<ProducedFile>(const RowWriter& write)>;

class IcbcStore {
 public:
  explicit IcbcStore(ConnectionPool& pool) : pool_(pool) {}

  // ---- the server ----
  // Stores `keyed.respond` of the new import, as read in its transaction, with the key: kDone
  // and kReplayed carry that response.
  absl::StatusOr<IcbcOutcome> Start(const KeyedChange<IcbcImportRecord>& keyed,
                                    const domain::IcbcStartInput& input, const Budget& budget);
  absl::StatusOr<std::optional<IcbcImportRecord>> Get(int64_t import_id, const Budget& budget);
  // Imports by id after `after_id`, at most `limit` (0: all), in keyset pages.
  absl::Status List(int64_t after_id, int64_t limit, const Budget& budget,
                    const std::function<bool(const IcbcImportRecord&)>& sink);
  absl::StatusOr<IcbcOutcome> Upload(int64_t import_id, const std::string& username, int64_t offset,
                                     absl::string_view data, const Budget& budget);
  absl::StatusOr<IcbcOutcome> Commit(int64_t import_id, const std::string& username,
                                     const NewDigest& new_digest, const Budget& budget);
  absl::StatusOr<IcbcOutcome> Cancel(int64_t import_id, const std::string& username, bool director,
                                     const Budget& budget);
  // The registrations of these (normalized) VINs, in the order asked, missing ones left out.
  absl::StatusOr<std::vector<RegistrationRecord>> Lookup(const std::vector<std::string>& vins,
                                                         const Budget& budget);

  // ---- zeva-worker ----
  // The QUEUED import committed first (or the first PROCESSING one whose lease ended), now
  // PROCESSING under `owner`'s lease; nullopt when there is none or the first one is still
  // leased to a live worker (one import at a time, in commit order).
  absl::StatusOr<std::optional<ClaimedImport>> Claim(const std::string& owner,
                                                     std::chrono::milliseconds lease,
                                                     const Budget& budget);
  // The import's chunks from `offset` on, in order, at most about `max_bytes` (at least one).
  absl::StatusOr<std::vector<std::string>> ReadChunks(int64_t import_id, int64_t offset,
                                                      int64_t max_bytes, const Budget& budget);
  // Records progress and renews the lease, in a short transaction of its own; false when
  // `owner` no longer holds the import (another worker took it over).
  absl::StatusOr<bool> Progress(int64_t import_id, const std::string& owner, int64_t rows_read,
                                std::chrono::milliseconds lease, const Budget& budget);
  // Runs `produce` inside the import's one transaction (see above) and commits the import
  // COMPLETED, or, when the file failed, rolls back and marks it FAILED. Returns the import's
  // final status; kProcessing when `owner` lost the import meanwhile (nothing written).
  absl::StatusOr<domain::IcbcImportStatus> Apply(const ClaimedImport& import,
                                                 const std::string& owner,
                                                 const RowProducer& produce, const Budget& budget);
  // Marks the import FAILED (bytes deleted, event written) unless `owner` lost it.
  absl::StatusOr<bool> Fail(const ClaimedImport& import, const std::string& owner,
                            const std::string& failure, const domain::IcbcFileCounts& counts,
                            const Budget& budget);
  // Cancels imports UPLOADING with no chunk for `idle`; returns how many.
  absl::StatusOr<int64_t> CancelAbandoned(std::chrono::seconds idle, const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
