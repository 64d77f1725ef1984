#include "db/fresh_reads.h"

namespace zeva::db {

FreshReads::FreshReads(LedgerStore& ledger, VehicleStore& vehicles)
    : ledger_(ledger), vehicles_(vehicles) {}

FreshReads::FreshReads(LedgerStore& ledger, VehicleStore& vehicles, const std::string& database_url,
                       int connect_timeout_seconds, int peer_timeout_ms)
    : ledger_(ledger),
      vehicles_(vehicles),
      feed_(std::make_unique<ChangeFeed>(
          ChangeFeed::Options{database_url,
                              {kBalancesChannel, kModelsChannel},
                              "zeva-transaction-service-listen",
                              connect_timeout_seconds,
                              std::chrono::milliseconds(1000),
                              std::chrono::milliseconds(1000),
                              peer_timeout_ms},
          [this](const std::string& channel, const std::string& payload) {
            if (channel == kBalancesChannel) {
              balances_.cache.Announce(payload);
            } else {
              models_.cache.Announce(payload);
            }
          },
          [this] {
            balances_.cache.ChangedAll();
            models_.cache.ChangedAll();
          })) {}

FreshReads::~FreshReads() { feed_.reset(); }  // stops its thread before the caches go

bool FreshReads::Fresh(const Budget& budget, Counters& counters) {
  if (feed_ == nullptr) return false;
  if (feed_->CatchUp(budget.deadline)) return true;
  ++counters.bypassed;
  return false;
}

absl::StatusOr<std::shared_ptr<const std::vector<BalanceRow>>> FreshReads::Balances(
    int64_t organization_id, bool government, const Budget& budget) {
  const bool fresh = Fresh(budget, balances_);
  const int64_t key = BalanceKey(organization_id, government);
  uint64_t ticket = 0;
  if (fresh) {
    if (auto rows = balances_.cache.Get(key)) {
      ++balances_.hits;
      return *std::move(rows);
    }
    ++balances_.misses;
    ticket = balances_.cache.Ticket(key);
  }
  auto read = ledger_.Balances(organization_id, government, budget);
  if (!read.ok()) return read.status();
  auto rows = std::make_shared<const std::vector<BalanceRow>>(*std::move(read));
  if (fresh) balances_.cache.Put(key, ticket, rows);
  return rows;
}

bool FreshReads::BalancesFromMemory(int64_t organization_id, bool government, const Budget& budget,
                                    BalancesThen then) {
  if (feed_ == nullptr) return false;
  const int64_t key = BalanceKey(organization_id, government);
  // Only a copy held now can be the answer after the round trip; a miss reads at once.
  if (!balances_.cache.Get(key)) return false;
  return feed_->CatchUpThen(budget.deadline, [this, key, then = std::move(then)](bool fresh) {
    // Held before the round trip and still held after it: no change dropped it in between.
    auto rows = fresh ? balances_.cache.Get(key) : std::nullopt;
    if (!rows) {
      then(nullptr);
      return;
    }
    ++balances_.hits;
    then(*std::move(rows));
  });
}

absl::Status FreshReads::ListModels(const Scope& scope, const Budget& budget,
                                    const RowSink<VehicleRecord>& sink) {
  if (!Fresh(budget, models_)) return vehicles_.List(scope, budget, sink);
  const int64_t key = scope.organization_id.value_or(models_.cache.kEveryOrganization);
  if (auto rows = models_.cache.Get(key)) {
    ++models_.hits;
    for (const VehicleRecord& row : **rows) {
      if (!sink(row)) return absl::CancelledError("the client stopped reading");
    }
    return absl::OkStatus();
  }
  ++models_.misses;
  const uint64_t ticket = models_.cache.Ticket(key);
  std::vector<VehicleRecord> rows;
  bool whole = true;  // every row so far fits in kMaxCachedModels
  absl::Status status = vehicles_.List(scope, budget, [&](const VehicleRecord& row) {
    if (whole && rows.size() < kMaxCachedModels) {
      rows.push_back(row);
    } else if (whole) {
      whole = false;
      rows.clear();
    }
    return sink(row);
  });
  if (status.ok() && whole) {
    models_.cache.Put(key, ticket,
                      std::make_shared<const std::vector<VehicleRecord>>(std::move(rows)));
  }
  return status;
}

}  // namespace zeva::db
