#pragma once
// The ICBC import lane of zeva-worker, beside the outbox lanes (docs/icbc.md): takes the
// QUEUED import committed first under a lease, streams its chunks in order through the file
// reader (domain/icbc_file.h) into the import's one transaction (db/icbc_store.h: COPY into
// a temporary table, one merge, COMPLETED), renewing the lease and recording rows_read as it
// goes; a file that fails is marked FAILED and changes nothing. It also cancels uploads left
// without a chunk for a day. Memory stays bounded by a few chunks, never the file.

#include <chrono>
#include <string>

#include "db/icbc_store.h"
#include "worker/delivery_lane.h"

namespace zeva::worker {

struct IcbcLaneOptions {
  std::chrono::milliseconds lease{20000};       // renewed with every batch of chunks
  std::chrono::seconds abandoned_after{86400};  // UPLOADING with no chunk this long
  std::chrono::seconds cleanup_interval{60};    // how often abandoned uploads are looked for
  std::chrono::seconds import_timeout{3600};    // bound of one import's transaction
};

class IcbcLane final : public DeliveryLane {
 public:
  IcbcLane(db::IcbcStore& store, IcbcLaneOptions options);
  // kFull after an import (another may be queued), kIdle when none, kFailed on an error.
  Pass RunOnce(const Wakeup& wakeup) override;

 private:
  Pass Process(const db::ClaimedImport& import, const Wakeup& wakeup);
  void CleanUpWhenDue();

  db::IcbcStore& store_;
  const IcbcLaneOptions options_;
  const std::string owner_;  // this worker, as the lease names it
  std::chrono::steady_clock::time_point next_cleanup_{};
};

}  // namespace zeva::worker
