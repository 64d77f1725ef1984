#include "db/icbc_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <tuple>

#include "db/event_writes.h"
#include "db/ledger_writes.h"
#include "db/paged_stream.h"

namespace zeva::db {
namespace {

#define ZEVA_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"
#define ZEVA_IMPORT_COLUMNS \
  "id, status::text, file_name, extract(year FROM current_to)::int, "                          \
  "extract(month FROM current_to)::int, extract(day FROM current_to)::int, size_bytes, "       \
  "sha256, received_bytes, uploaded_by, " ZEVA_MICROS("created_at") ", "                       \
  "coalesce(" ZEVA_MICROS("finished_at") ", 0), rows_read, rows_kept, rows_rejected, "         \
  "registrations_added, registrations_changed, registrations_unchanged, errors::text, failure"

constexpr Statement kInsertImport{
    "icbc_insert",
    "INSERT INTO icbc_imports (file_name, current_to, size_bytes, sha256, uploaded_by) "
    "VALUES ($1, make_date($2, $3, $4), $5, $6, $7) RETURNING id"};
constexpr Statement kGetImport{"icbc_get",
                               "SELECT " ZEVA_IMPORT_COLUMNS " FROM icbc_imports WHERE id = $1"};
constexpr Statement kListImports{"icbc_list",
                                 "SELECT " ZEVA_IMPORT_COLUMNS
                                 " FROM icbc_imports WHERE id > $1 ORDER BY id LIMIT $2"};
constexpr Statement kLockImport{
    "icbc_lock",
    "SELECT status::text, uploaded_by, size_bytes, received_bytes, sha256, file_name "
    "FROM icbc_imports WHERE id = $1 FOR UPDATE"};
// The stored chunks that overlap [$2, $2 + $3): a chunk is at most 1 MiB, so none starts more
// than 1 MiB before $2.
constexpr Statement kOverlappingChunks{
    "icbc_overlapping_chunks",
    "SELECT byte_offset, data FROM icbc_import_chunks WHERE import_id = $1 "
    "AND byte_offset > $2 - 1048576 AND byte_offset < $2 + $3 ORDER BY byte_offset"};
constexpr Statement kAppendChunk{
    "icbc_append_chunk",
    "WITH chunk AS (INSERT INTO icbc_import_chunks (import_id, byte_offset, data) "
    "VALUES ($1, $2, $3)) "
    "UPDATE icbc_imports SET received_bytes = received_bytes + $4, last_chunk_at = now() "
    "WHERE id = $1"};
// Chunks from an offset on, up to about $3 bytes (the first always).
constexpr Statement kReadChunks{
    "icbc_read_chunks",
    "SELECT data FROM icbc_import_chunks WHERE import_id = $1 AND byte_offset >= $2 "
    "AND byte_offset < $2 + greatest($3, 1) ORDER BY byte_offset"};
constexpr Statement kQueue{
    "icbc_queue",
    "UPDATE icbc_imports SET status = 'QUEUED', queued_seq = nextval('icbc_imports_queued_seq') "
    "WHERE id = $1"};
constexpr Statement kFinish{
    "icbc_finish",
    "UPDATE icbc_imports SET status = $2::icbc_import_status, finished_at = now(), "
    "failure = $3, lease_owner = NULL, lease_until = NULL WHERE id = $1"};
constexpr Statement kDeleteChunks{"icbc_delete_chunks",
                                  "DELETE FROM icbc_import_chunks WHERE import_id = $1"};
constexpr Statement kLookup{"icbc_lookup",
                            "SELECT r.vin, r.make, r.model, r.model_year, r.import_id "
                            "FROM unnest($1::varchar[]) WITH ORDINALITY AS v(vin, n) "
                            "JOIN icbc_registrations r ON r.vin = v.vin ORDER BY v.n"};
// One import at a time, in commit order: the head of the queue, taken when it is QUEUED or
// its worker's lease ended. Two workers racing: the second's UPDATE waits for the first's
// and then finds the row leased (READ COMMITTED re-checks the WHERE on the new version).
constexpr Statement kClaim{
    "icbc_claim",
    "UPDATE icbc_imports i SET status = 'PROCESSING', lease_owner = $1, "
    "lease_until = now() + $2 * interval '1 millisecond', rows_read = 0, rows_kept = 0, "
    "rows_rejected = 0, errors = '[]', attempts = i.attempts + 1 "
    "FROM (SELECT id FROM icbc_imports WHERE status IN ('QUEUED', 'PROCESSING') "
    "      ORDER BY queued_seq LIMIT 1) head "
    "WHERE i.id = head.id AND (i.status = 'QUEUED' OR i.lease_until < now()) "
    "RETURNING i.id, i.uploaded_by, i.file_name, i.attempts"};
constexpr Statement kProgress{
    "icbc_progress",
    "UPDATE icbc_imports SET rows_read = $3, lease_until = now() + $4 * interval '1 millisecond' "
    "WHERE id = $1 AND lease_owner = $2 AND status = 'PROCESSING'"};
constexpr Statement kLockOwned{
    "icbc_lock_owned",
    "SELECT 1 FROM icbc_imports WHERE id = $1 AND lease_owner = $2 AND status = 'PROCESSING' "
    "FOR UPDATE"};
constexpr Statement kCounts{
    "icbc_counts",
    "UPDATE icbc_imports SET rows_read = $2, rows_kept = $3, rows_rejected = $4, "
    "registrations_added = $5, registrations_changed = $6, registrations_unchanged = $7, "
    "errors = $8::jsonb WHERE id = $1"};
constexpr Statement kAbandoned{
    "icbc_abandoned",
    "WITH gone AS (UPDATE icbc_imports SET status = 'CANCELLED', finished_at = now() "
    "  WHERE status = 'UPLOADING' AND last_chunk_at < now() - $1 * interval '1 second' "
    "  RETURNING id), "
    "bytes AS (DELETE FROM icbc_import_chunks c USING gone WHERE c.import_id = gone.id) "
    "SELECT count(*) FROM gone"};

// Apply's statements name its temporary table, which exists only inside its transaction, so
// they are not prepared on every connection like the others (nor listed in Statements()).
constexpr Statement kCreateStaging{
    "icbc_create_staging",
    "CREATE TEMPORARY TABLE icbc_staging (line bigint NOT NULL, vin varchar(17) NOT NULL, "
    "make text NOT NULL, model text NOT NULL, model_year integer NOT NULL) ON COMMIT DROP"};
// The file's last row of each VIN wins; every VIN counts once. A registration that would not
// change is left alone (no new row version); xmax = 0 tells an insert from an update.
constexpr Statement kMerge{
    "icbc_merge",
    "WITH latest AS (SELECT DISTINCT ON (vin) vin, make, model, model_year FROM icbc_staging "
    "  ORDER BY vin, line DESC), "
    "merged AS (INSERT INTO icbc_registrations AS r (vin, make, model, model_year, import_id) "
    "  SELECT vin, make, model, model_year, $1 FROM latest ORDER BY vin "
    "  ON CONFLICT (vin) DO UPDATE SET make = EXCLUDED.make, model = EXCLUDED.model, "
    "    model_year = EXCLUDED.model_year, import_id = EXCLUDED.import_id "
    "  WHERE (r.make, r.model, r.model_year) IS DISTINCT FROM "
    "    (EXCLUDED.make, EXCLUDED.model, EXCLUDED.model_year) "
    "  RETURNING xmax = 0 AS added) "
    "SELECT (SELECT count(*) FROM latest), count(*) FILTER (WHERE added), "
    "count(*) FILTER (WHERE NOT added) FROM merged"};

#undef ZEVA_IMPORT_COLUMNS
#undef ZEVA_MICROS

IcbcImportRecord ImportFromRow(const pqxx::row& row) {
  IcbcImportRecord r;
  r.id = row[0].as<int64_t>();
  r.status = domain::IcbcStatusNamed(row[1].as<std::string>());
  r.file_name = row[2].as<std::string>();
  r.current_to_year = row[3].as<int>();
  r.current_to_month = row[4].as<int>();
  r.current_to_day = row[5].as<int>();
  r.size_bytes = row[6].as<int64_t>();
  r.sha256 = row[7].as<std::string>();
  r.received_bytes = row[8].as<int64_t>();
  r.uploaded_by = row[9].as<std::string>();
  r.created_micros = row[10].as<int64_t>();
  r.finished_micros = row[11].as<int64_t>();
  r.rows_read = row[12].as<int64_t>();
  r.rows_kept = row[13].as<int64_t>();
  r.rows_rejected = row[14].as<int64_t>();
  r.registrations_added = row[15].as<int64_t>();
  r.registrations_changed = row[16].as<int64_t>();
  r.registrations_unchanged = row[17].as<int64_t>();
  for (const auto& e : nlohmann::json::parse(row[18].as<std::string>())) {
    r.errors.push_back(domain::IcbcLineError{e[0].get<int64_t>(), e[1].get<std::string>()});
  }
  r.failure = row[19].as<std::string>();
  return r;
}

std::string ErrorsJson(const std::vector<domain::IcbcLineError>& errors) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : errors) out.push_back({e.line, e.message});
  // A row's text in a message may be anything the file held: never let it break the dump.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Locked {
  bool found = false;
  domain::IcbcImportStatus status = domain::IcbcImportStatus::kUnspecified;
  std::string uploaded_by;
  int64_t size_bytes = 0, received_bytes = 0;
  std::string sha256, file_name;
};

Locked LockImport(pqxx::transaction_base& tx, int64_t import_id) {
  const pqxx::result rows = tx.exec_prepared(kLockImport.name, import_id);
  Locked l;
  if (rows.empty()) return l;
  l.found = true;
  l.status = domain::IcbcStatusNamed(rows[0][0].as<std::string>());
  l.uploaded_by = rows[0][1].as<std::string>();
  l.size_bytes = rows[0][2].as<int64_t>();
  l.received_bytes = rows[0][3].as<int64_t>();
  l.sha256 = rows[0][4].as<std::string>();
  l.file_name = rows[0][5].as<std::string>();
  return l;
}

// NOT_FOUND, then who may act on the locked import: its uploader (and, to cancel, a
// director). nullopt when the step may go on.
std::optional<IcbcOutcome> Refused(const Locked& l, int64_t import_id, const std::string& username,
                                   bool director = false) {
  if (!l.found) return IcbcOutcome{IcbcOutcome::Kind::kNotFound, import_id, 0};
  if (l.uploaded_by != username && !director) {
    return IcbcOutcome{IcbcOutcome::Kind::kNotAllowed, import_id, 0};
  }
  return std::nullopt;
}

// Whether `data` at `offset` repeats what was received there (a retried chunk).
bool RepeatsReceived(pqxx::transaction_base& tx, int64_t import_id, int64_t offset,
                     absl::string_view data) {
  const int64_t end = offset + static_cast<int64_t>(data.size());
  std::string stored;
  int64_t stored_from = -1;
  for (const pqxx::row& row : tx.exec_prepared(kOverlappingChunks.name, import_id, offset,
                                               static_cast<int64_t>(data.size()))) {
    const int64_t at = row[0].as<int64_t>();
    const pqxx::binarystring bytes(row[1]);
    if (stored_from < 0) stored_from = at;
    if (at != stored_from + static_cast<int64_t>(stored.size())) return false;  // a gap
    stored.append(bytes.get(), bytes.size());
  }
  if (stored_from < 0 || stored_from > offset ||
      stored_from + static_cast<int64_t>(stored.size()) < end) {
    return false;
  }
  return absl::string_view(stored).substr(static_cast<size_t>(offset - stored_from), data.size()) ==
         data;
}

void WriteFinishedEvent(pqxx::transaction_base& tx, const ClaimedImport& import, bool completed,
                        int64_t added, int64_t changed, const std::string& failure) {
  WriteEvent(tx,
             domain::IcbcImportFinished(import.id, import.file_name, completed, import.uploaded_by,
                                        added, changed, failure),
             "zeva-worker", 0, 0, {}, import.id);
}

void WriteCounts(pqxx::transaction_base& tx, int64_t import_id,
                 const domain::IcbcFileCounts& counts, int64_t added, int64_t changed,
                 int64_t unchanged) {
  tx.exec_prepared(kCounts.name, import_id, counts.rows_read, counts.rows_kept,
                   counts.rows_rejected, added, changed, unchanged, ErrorsJson(counts.errors));
}

}  // namespace

const std::vector<Statement>& IcbcStore::Statements() {
  static const std::vector<Statement> statements{
      kInsertImport, kGetImport,  kListImports, kLockImport, kOverlappingChunks,
      kAppendChunk,  kReadChunks, kQueue,       kFinish,     kDeleteChunks,
      kLookup,       kClaim,      kProgress,    kLockOwned,  kCounts,
      kAbandoned};
  return statements;
}

absl::StatusOr<IcbcOutcome> IcbcStore::Start(const KeyedChange<IcbcImportRecord>& keyed,
                                             const domain::IcbcStartInput& input,
                                             const Budget& budget) {
  using Kind = IcbcOutcome::Kind;
  return RunWithRetries<IcbcOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<IcbcOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &IcbcOutcome::import_id)) {
          return *earlier;
        }
        const int64_t id =
            tx.exec_prepared1(kInsertImport.name, input.file_name, input.year, input.month,
                              input.day, static_cast<int64_t>(input.size_bytes), input.sha256,
                              keyed.claim.username)[0]
                .as<int64_t>();
        std::string response =
            RecordResult(tx, keyed, id, ImportFromRow(tx.exec_prepared1(kGetImport.name, id)));
        tx.commit();
        return IcbcOutcome{Kind::kDone, id, 0, std::move(response)};
      });
}

absl::StatusOr<std::optional<IcbcImportRecord>> IcbcStore::Get(int64_t import_id,
                                                               const Budget& budget) {
  return pool_.Run<std::optional<IcbcImportRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<IcbcImportRecord>> {
        pqxx::nontransaction tx(c);
        const pqxx::result rows = tx.exec_prepared(kGetImport.name, import_id);
        if (rows.empty()) return std::nullopt;
        return ImportFromRow(rows[0]);
      });
}

absl::Status IcbcStore::List(int64_t after_id, int64_t limit, const Budget& budget,
                             const std::function<bool(const IcbcImportRecord&)>& sink) {
  return StreamPagesUpTo(
      pool_, budget, limit,
      [&](pqxx::transaction_base& tx, int64_t page) {
        return tx.exec_prepared(kListImports.name, after_id, page);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        const IcbcImportRecord r = ImportFromRow(row);
        after_id = r.id;
        return sink(r);
      });
}

absl::StatusOr<IcbcOutcome> IcbcStore::Upload(int64_t import_id, const std::string& username,
                                              int64_t offset, absl::string_view data,
                                              const Budget& budget) {
  using Kind = IcbcOutcome::Kind;
  return RunWithRetries<IcbcOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<IcbcOutcome> {
        pqxx::work tx(c);
        const Locked l = LockImport(tx, import_id);
        if (auto refused = Refused(l, import_id, username)) return *refused;
        const int64_t end = offset + static_cast<int64_t>(data.size());
        if (end > l.size_bytes) return IcbcOutcome{Kind::kPastSize, import_id, 0};
        if (l.status != domain::IcbcImportStatus::kUploading) {
          return IcbcOutcome{Kind::kInvalidStatus, import_id, 0};
        }
        if (offset == l.received_bytes) {
          tx.exec_prepared(kAppendChunk.name, import_id, offset,
                           pqxx::binarystring(data.data(), data.size()),
                           static_cast<int64_t>(data.size()));
          tx.commit();
          return IcbcOutcome{Kind::kDone, import_id, 0};
        }
        if (end <= l.received_bytes && RepeatsReceived(tx, import_id, offset, data)) {
          return IcbcOutcome{Kind::kDone, import_id, 0};  // a retry: nothing to write
        }
        return IcbcOutcome{Kind::kOffsetMismatch, import_id, l.received_bytes};
      });
}

absl::StatusOr<IcbcOutcome> IcbcStore::Commit(int64_t import_id, const std::string& username,
                                              const NewDigest& new_digest, const Budget& budget) {
  using Kind = IcbcOutcome::Kind;
  return RunWithRetries<IcbcOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<IcbcOutcome> {
        pqxx::work tx(c);
        const Locked l = LockImport(tx, import_id);
        if (auto refused = Refused(l, import_id, username)) return *refused;
        if (l.status != domain::IcbcImportStatus::kUploading) {
          return IcbcOutcome{Kind::kDone, import_id, 0};  // as it is: a retried commit
        }
        if (l.received_bytes < l.size_bytes) return IcbcOutcome{Kind::kIncomplete, import_id, 0};
        // The bytes in order, a few chunks per round trip, under the import's lock.
        const std::unique_ptr<ByteDigest> digest = new_digest();
        for (int64_t at = 0; at < l.received_bytes;) {
          const pqxx::result rows =
              tx.exec_prepared(kReadChunks.name, import_id, at, int64_t{4} << 20);
          if (rows.empty()) return absl::InternalError("an import's chunks have a gap");
          for (const pqxx::row& row : rows) {
            const pqxx::binarystring bytes(row[0]);
            digest->Update(absl::string_view(bytes.get(), bytes.size()));
            at += static_cast<int64_t>(bytes.size());
          }
        }
        if (digest->HexDigest() != l.sha256) {
          // Kept although the call fails (the contract's exception): the import is FAILED.
          tx.exec_prepared(kFinish.name, import_id, "FAILED",
                           "the SHA-256 of the received bytes is not the sha256 given at the "
                           "start");
          tx.exec_prepared(kDeleteChunks.name, import_id);
          tx.commit();
          return IcbcOutcome{Kind::kChecksumMismatch, import_id, 0};
        }
        tx.exec_prepared(kQueue.name, import_id);
        tx.commit();
        return IcbcOutcome{Kind::kDone, import_id, 0};
      });
}

absl::StatusOr<IcbcOutcome> IcbcStore::Cancel(int64_t import_id, const std::string& username,
                                              bool director, const Budget& budget) {
  using Kind = IcbcOutcome::Kind;
  using Status = domain::IcbcImportStatus;
  return RunWithRetries<IcbcOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<IcbcOutcome> {
        pqxx::work tx(c);
        const Locked l = LockImport(tx, import_id);
        if (auto refused = Refused(l, import_id, username, director)) return *refused;
        if (l.status == Status::kCancelled) return IcbcOutcome{Kind::kDone, import_id, 0};
        if (l.status != Status::kUploading && l.status != Status::kQueued) {
          return IcbcOutcome{Kind::kInvalidStatus, import_id, 0};
        }
        tx.exec_prepared(kFinish.name, import_id, "CANCELLED", "");
        tx.exec_prepared(kDeleteChunks.name, import_id);
        tx.commit();
        return IcbcOutcome{Kind::kDone, import_id, 0};
      });
}

absl::StatusOr<std::vector<RegistrationRecord>> IcbcStore::Lookup(
    const std::vector<std::string>& vins, const Budget& budget) {
  return pool_.Run<std::vector<RegistrationRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<RegistrationRecord>> {
        pqxx::nontransaction tx(c);
        std::vector<RegistrationRecord> out;
        for (const pqxx::row& row : tx.exec_prepared(kLookup.name, ArrayLiteral(vins))) {
          out.push_back(RegistrationRecord{row[0].as<std::string>(), row[1].as<std::string>(),
                                           row[2].as<std::string>(), row[3].as<int32_t>(),
                                           row[4].as<int64_t>()});
        }
        return out;
      });
}

absl::StatusOr<std::optional<ClaimedImport>> IcbcStore::Claim(const std::string& owner,
                                                              std::chrono::milliseconds lease,
                                                              const Budget& budget) {
  return pool_.Run<std::optional<ClaimedImport>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<ClaimedImport>> {
        pqxx::work tx(c);
        const pqxx::result rows =
            tx.exec_prepared(kClaim.name, owner, static_cast<int64_t>(lease.count()));
        tx.commit();
        if (rows.empty()) return std::nullopt;
        return ClaimedImport{rows[0][0].as<int64_t>(), rows[0][1].as<std::string>(),
                             rows[0][2].as<std::string>(), rows[0][3].as<int>()};
      });
}

absl::StatusOr<std::vector<std::string>> IcbcStore::ReadChunks(int64_t import_id, int64_t offset,
                                                               int64_t max_bytes,
                                                               const Budget& budget) {
  return pool_.Run<std::vector<std::string>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::nontransaction tx(c);
        std::vector<std::string> chunks;
        for (const pqxx::row& row :
             tx.exec_prepared(kReadChunks.name, import_id, offset, max_bytes)) {
          const pqxx::binarystring bytes(row[0]);
          chunks.emplace_back(bytes.get(), bytes.size());
        }
        return chunks;
      });
}

absl::StatusOr<bool> IcbcStore::Progress(int64_t import_id, const std::string& owner,
                                         int64_t rows_read, std::chrono::milliseconds lease,
                                         const Budget& budget) {
  return pool_.Run<bool>(budget, [&](pqxx::connection& c) -> absl::StatusOr<bool> {
    pqxx::work tx(c);
    const pqxx::result r = tx.exec_prepared(kProgress.name, import_id, owner, rows_read,
                                            static_cast<int64_t>(lease.count()));
    tx.commit();
    return r.affected_rows() == 1;
  });
}

absl::StatusOr<domain::IcbcImportStatus> IcbcStore::Apply(const ClaimedImport& import,
                                                          const std::string& owner,
                                                          const RowProducer& produce,
                                                          const Budget& budget) {
  using Status = domain::IcbcImportStatus;
  std::optional<ProducedFile> failed;  // set when the file failed: marked after the rollback
  auto applied = pool_.Run<Status>(budget, [&](pqxx::connection& c) -> absl::StatusOr<Status> {
    failed.reset();
    pqxx::work tx(c);
    tx.exec(kCreateStaging.sql);
    absl::StatusOr<ProducedFile> produced = ProducedFile{};
    {
      pqxx::stream_to staging(
          tx, "icbc_staging",
          std::vector<std::string>{"line", "vin", "make", "model", "model_year"});
      produced = produce([&](const domain::IcbcRow& row) {
        staging << std::make_tuple(row.line, row.vin, row.make, row.model, row.model_year);
      });
      staging.complete();
    }
    if (!produced.ok()) return produced.status();  // rolls back
    if (!produced->failure.empty()) {
      failed = *produced;
      return Status::kFailed;  // rolls back: the file changes nothing
    }
    // From here the import is this worker's for good: nobody else can claim it (FOR UPDATE).
    if (tx.exec_prepared(kLockOwned.name, import.id, owner).empty()) return Status::kProcessing;
    const pqxx::row merged = tx.exec_params1(kMerge.sql, import.id);
    const int64_t distinct = merged[0].as<int64_t>();
    const int64_t added = merged[1].as<int64_t>();
    const int64_t changed = merged[2].as<int64_t>();
    WriteCounts(tx, import.id, produced->counts, added, changed, distinct - added - changed);
    tx.exec_prepared(kFinish.name, import.id, "COMPLETED", "");
    tx.exec_prepared(kDeleteChunks.name, import.id);
    WriteFinishedEvent(tx, import, true, added, changed, "");
    tx.commit();
    return Status::kCompleted;
  });
  if (!applied.ok()) return applied.status();
  if (*applied == Status::kFailed) {
    auto marked = Fail(import, owner, failed->failure, failed->counts, budget);
    if (!marked.ok()) return marked.status();
    return *marked ? Status::kFailed : Status::kProcessing;
  }
  return *applied;
}

absl::StatusOr<bool> IcbcStore::Fail(const ClaimedImport& import, const std::string& owner,
                                     const std::string& failure,
                                     const domain::IcbcFileCounts& counts, const Budget& budget) {
  return pool_.Run<bool>(budget, [&](pqxx::connection& c) -> absl::StatusOr<bool> {
    pqxx::work tx(c);
    if (tx.exec_prepared(kLockOwned.name, import.id, owner).empty()) return false;
    WriteCounts(tx, import.id, counts, 0, 0, 0);
    tx.exec_prepared(kFinish.name, import.id, "FAILED", failure);
    tx.exec_prepared(kDeleteChunks.name, import.id);
    WriteFinishedEvent(tx, import, false, 0, 0, failure);
    tx.commit();
    return true;
  });
}

absl::StatusOr<int64_t> IcbcStore::CancelAbandoned(std::chrono::seconds idle,
                                                   const Budget& budget) {
  return pool_.Run<int64_t>(budget, [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::work tx(c);
    const int64_t n =
        tx.exec_prepared1(kAbandoned.name, static_cast<int64_t>(idle.count()))[0].as<int64_t>();
    tx.commit();
    return n;
  });
}

}  // namespace zeva::db
