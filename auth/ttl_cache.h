#pragma once
// A small thread-safe cache: each entry carries its own expiry, and the least recently
// used entry goes when the cache is full. Capacity 0 disables it.

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace zeva::auth {

template <typename V>
class TtlLruCache {
 public:
  using Clock = std::chrono::system_clock;  // token `exp` is wall-clock time

  explicit TtlLruCache(size_t capacity) : capacity_(capacity) {}

  std::optional<V> Get(const std::string& key, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (now >= it->second->expires_at) {
      lru_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }

  void Put(const std::string& key, V value, Clock::time_point expires_at, Clock::time_point now) {
    if (capacity_ == 0 || expires_at <= now) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.erase(it->second);
      index_.erase(it);
    }
    while (lru_.size() >= capacity_) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Entry{key, std::move(value), expires_at});
    index_[key] = lru_.begin();
  }

  void Erase(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
  }

  size_t Size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lru_.size();
  }

 private:
  struct Entry {
    std::string key;
    V value;
    Clock::time_point expires_at;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace zeva::auth
