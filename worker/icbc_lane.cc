#include "worker/icbc_lane.h"

#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "domain/icbc_file.h"
#include "spdlog/spdlog.h"
#include "worker/lane_support.h"

namespace zeva::worker {
namespace {

// Chunks read per round trip: at most this much of the file is in memory at once (plus one
// chunk of at most 1 MiB).
constexpr int64_t kBatchBytes = int64_t{1} << 20;
// Claims of one import that may end unfinished before it counts as FAILED.
constexpr int kMaxAttempts = 5;

std::string OwnerName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device random;
  return absl::StrCat(host, ":", getpid(), ":", absl::Hex(random()));
}

}  // namespace

IcbcLane::IcbcLane(db::IcbcStore& store, IcbcLaneOptions options)
    : store_(store), options_(options), owner_(OwnerName()) {}

void IcbcLane::CleanUpWhenDue() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_cleanup_) return;
  next_cleanup_ = now + options_.cleanup_interval;
  auto cancelled = store_.CancelAbandoned(options_.abandoned_after, DatabaseBudget());
  if (!cancelled.ok()) {
    spdlog::warn("cancelling abandoned ICBC uploads failed: {}", cancelled.status().ToString());
  } else if (*cancelled > 0) {
    spdlog::info("cancelled {} ICBC uploads with no chunk for {} s", *cancelled,
                 options_.abandoned_after.count());
  }
}

Pass IcbcLane::RunOnce(const Wakeup& wakeup) {
  CleanUpWhenDue();
  auto claimed = store_.Claim(owner_, options_.lease, DatabaseBudget());
  if (!claimed.ok()) {
    spdlog::warn("claiming an ICBC import failed: {}", claimed.status().ToString());
    return Pass::kFailed;
  }
  if (!claimed->has_value()) return Pass::kIdle;
  const db::ClaimedImport& import = **claimed;
  if (import.attempts > kMaxAttempts) {
    // Each earlier claim ended without finishing (a crash, a rollback): a file that kills
    // workers, or a database that refuses it, must not block the queue for ever.
    auto failed = store_.Fail(import, owner_,
                              absl::StrCat("processing did not finish in ", kMaxAttempts,
                                           " attempts; the workers' logs have the reasons"),
                              {}, DatabaseBudget());
    if (!failed.ok()) return Pass::kFailed;
    spdlog::error("ICBC import {}: FAILED after {} unfinished attempts", import.id, kMaxAttempts);
    return Pass::kFull;
  }
  return Process(import, wakeup);
}

Pass IcbcLane::Process(const db::ClaimedImport& import, const Wakeup& wakeup) {
  const auto started = std::chrono::steady_clock::now();
  spdlog::info("ICBC import {} ({}): processing", import.id, import.file_name);
  auto produce = [&](const db::RowWriter& write) -> absl::StatusOr<db::ProducedFile> {
    domain::IcbcFileReader reader(write);
    int64_t offset = 0;
    for (;;) {
      // Stopping rolls the import's transaction back; its lease hands it to another worker.
      if (wakeup.stopping()) return absl::CancelledError("the worker is stopping");
      auto chunks = store_.ReadChunks(import.id, offset, kBatchBytes, DatabaseBudget());
      if (!chunks.ok()) return chunks.status();
      if (chunks->empty()) break;
      for (std::string& chunk : *chunks) {
        offset += static_cast<int64_t>(chunk.size());
        const bool ok = reader.Feed(chunk);
        std::string().swap(chunk);  // one chunk at a time in memory beyond the batch
        if (!ok) return db::ProducedFile{reader.failure(), reader.counts()};
      }
      auto owned = store_.Progress(import.id, owner_, reader.counts().rows_read, options_.lease,
                                   DatabaseBudget());
      if (!owned.ok()) return owned.status();
      if (!*owned) return absl::AbortedError("another worker took the import over");
    }
    if (!reader.Finish()) return db::ProducedFile{reader.failure(), reader.counts()};
    return db::ProducedFile{"", reader.counts()};
  };
  auto status = store_.Apply(import, owner_, produce,
                             db::Budget{db::Clock::now() + options_.import_timeout, ""});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!status.ok()) {
    spdlog::warn("ICBC import {}: not finished after {:.1f} s ({}); its lease hands it on",
                 import.id, seconds, status.status().ToString());
    return absl::IsCancelled(status.status()) ? Pass::kIdle : Pass::kFailed;
  }
  switch (*status) {
    case domain::IcbcImportStatus::kCompleted:
      spdlog::info("ICBC import {}: COMPLETED in {:.1f} s", import.id, seconds);
      break;
    case domain::IcbcImportStatus::kFailed:
      spdlog::info("ICBC import {}: FAILED (the file) in {:.1f} s", import.id, seconds);
      break;
    default:
      spdlog::warn("ICBC import {}: another worker took it over", import.id);
      break;
  }
  return Pass::kFull;
}

}  // namespace zeva::worker
