#pragma once
// Query results in memory, by organization, for one replica. Pure (no I/O), thread-safe.
//
// Told of changes by FreshReads' ChangeFeed (migration 0013's triggers NOTIFY the
// organization of every row that changes). A fill races with changes: the reader takes a
// Ticket before it reads the database, and Put keeps the result only if nothing that could
// change it was announced since; so a read that started before a change never puts back what
// the change dropped.

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/strings/numbers.h"

namespace zeva::db {

template <typename Value>
class ReadCache {
 public:
  // The key of results over every organization (the government's view): any change drops it.
  static constexpr int64_t kEveryOrganization = 0;

  // At most `capacity` keys; beyond it the cache starts over (empty).
  explicit ReadCache(size_t capacity) : capacity_(capacity) {}

  std::optional<Value> Get(int64_t key) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  uint64_t Ticket(int64_t key) const {
    std::lock_guard<std::mutex> lock(mu_);
    return versions_[ShardOf(key)];
  }

  // Returns whether the value was kept.
  bool Put(int64_t key, uint64_t ticket, Value value) {
    std::lock_guard<std::mutex> lock(mu_);
    if (capacity_ == 0 || versions_[ShardOf(key)] != ticket) return false;
    if (entries_.size() >= capacity_ && entries_.count(key) == 0) entries_.clear();
    entries_[key] = std::move(value);
    return true;
  }

  // A NOTIFY payload: an organization id drops that organization (and kEveryOrganization);
  // "*" or anything unreadable drops everything.
  void Announce(const std::string& payload) {
    int64_t organization_id = 0;
    if (payload != "*" && absl::SimpleAtoi(payload, &organization_id) &&
        organization_id != kEveryOrganization) {
      Changed(organization_id);
    } else {
      ChangedAll();
    }
  }

  void Changed(int64_t organization_id) {
    std::lock_guard<std::mutex> lock(mu_);
    ++versions_[ShardOf(organization_id)];
    ++versions_[ShardOf(kEveryOrganization)];
    entries_.erase(organization_id);
    entries_.erase(kEveryOrganization);
  }

  void ChangedAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t& version : versions_) ++version;
    entries_.clear();
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
  }

 private:
  // Versions by shard of keys, not by key: bounded memory; a change in a shard only makes
  // the fills of its other keys that race with it go uncached.
  static constexpr size_t kShards = 64;
  static size_t ShardOf(int64_t key) { return static_cast<uint64_t>(key) % kShards; }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<int64_t, Value> entries_;
  std::array<uint64_t, kShards> versions_{};
};

}  // namespace zeva::db
