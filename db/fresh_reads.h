#pragma once
// Balances and model lists from memory when that is provably current, else from the database.
//
// With the cache on, a read first waits for ChangeFeed::CatchUp (one round trip on the
// replica's LISTEN connection, shared by every call waiting at that moment): after it, every
// change committed before the call arrived has dropped its organization's copy, so what the
// cache still holds is what the database would answer now. Without the LISTEN connection
// (not open yet, lost) every read goes to the database. Nothing is served on trust: there is
// no time-to-live, and a replica never answers from memory what another replica changed.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "db/change_feed.h"
#include "db/ledger_store.h"
#include "db/read_cache.h"
#include "db/vehicle_store.h"

namespace zeva::db {

// Migration 0013's channels.
inline constexpr char kBalancesChannel[] = "zeva_balances";
inline constexpr char kModelsChannel[] = "zeva_models";

struct ReadCacheStats {
  int64_t hits = 0;      // answered from memory
  int64_t misses = 0;    // read from the database (and kept when possible)
  int64_t bypassed = 0;  // read from the database: no LISTEN connection, or no answer on it
};

class FreshReads {
 public:
  // Reads the database only.
  FreshReads(LedgerStore& ledger, VehicleStore& vehicles);
  // Caches, listening with a connection of its own to `database_url` (`peer_timeout_ms`: see
  // kDefaultPeerTimeoutMs).
  FreshReads(LedgerStore& ledger, VehicleStore& vehicles, const std::string& database_url,
             int connect_timeout_seconds, int peer_timeout_ms = kDefaultPeerTimeoutMs);
  ~FreshReads();
  FreshReads(const FreshReads&) = delete;
  FreshReads& operator=(const FreshReads&) = delete;

  // As LedgerStore::Balances; shared with the cache (read-only), so a hit copies nothing.
  absl::StatusOr<std::shared_ptr<const std::vector<BalanceRow>>> Balances(int64_t organization_id,
                                                                          bool government,
                                                                          const Budget& budget);
  // Balances for a caller that must not park a thread (gRPC's callback API). True when memory
  // may answer: `then` runs later on the LISTEN thread, with the rows once they are proven
  // current, or with null when they changed meanwhile or no proof came (the caller then calls
  // Balances, off that thread). False when nothing is held or nobody listens: call Balances now,
  // and `then` never runs. `then` must not block.
  using BalancesThen = std::function<void(std::shared_ptr<const std::vector<BalanceRow>>)>;
  bool BalancesFromMemory(int64_t organization_id, bool government, const Budget& budget,
                          BalancesThen then);
  // As VehicleStore::List. Lists longer than kMaxCachedModels are never kept.
  absl::Status ListModels(const Scope& scope, const Budget& budget,
                          const RowSink<VehicleRecord>& sink);

  ReadCacheStats balance_stats() const { return balances_.Stats(); }
  ReadCacheStats model_stats() const { return models_.Stats(); }
  // Whether the LISTEN connection is open, and the round trips that proved the caches current.
  bool listening() const { return feed_ != nullptr && feed_->connected(); }
  int64_t round_trips() const { return feed_ == nullptr ? 0 : feed_->stats().round_trips; }
  // A pooled connection reached `server` (ConnectionPool::WatchServers): see
  // ChangeFeed::ServerSeen.
  void ServerSeen(const std::string& server) {
    if (feed_ != nullptr) feed_->ServerSeen(server);
  }
  // Reconnects that found another server (failover, a fresh database): every copy dropped.
  int64_t server_changes() const { return feed_ == nullptr ? 0 : feed_->stats().server_changes; }

  static constexpr size_t kMaxCachedModels = 200;

 private:
  struct Counters {
    std::atomic<int64_t> hits{0}, misses{0}, bypassed{0};
    ReadCacheStats Stats() const { return {hits.load(), misses.load(), bypassed.load()}; }
  };
  template <typename Value>
  struct Cached : Counters {
    explicit Cached(size_t capacity) : cache(capacity) {}
    ReadCache<Value> cache;
  };

  // The cache key of an organization's balances (the government's view is derived from all).
  int64_t BalanceKey(int64_t organization_id, bool government) const {
    return government ? balances_.cache.kEveryOrganization : organization_id;
  }
  // Whether memory may answer this call (counts a bypass when not).
  bool Fresh(const Budget& budget, Counters& counters);

  LedgerStore& ledger_;
  VehicleStore& vehicles_;
  template <typename Row>
  using Rows = std::shared_ptr<const std::vector<Row>>;
  Cached<Rows<BalanceRow>> balances_{100000};  // organizations
  Cached<Rows<VehicleRecord>> models_{1000};   // organizations' lists
  std::unique_ptr<ChangeFeed> feed_;  // null: no caching; last member: its thread uses the caches
};

}  // namespace zeva::db
