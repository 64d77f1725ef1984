// ReadCache (db/read_cache.h): what a change drops, and fills that race with changes.

#include "db/read_cache.h"

#include <catch2/catch.hpp>
#include <string>

using zeva::db::ReadCache;

namespace {
constexpr int64_t kAll = ReadCache<std::string>::kEveryOrganization;
}  // namespace

TEST_CASE("a change drops its organization and the every-organization view, nothing else",
          "[read_cache]") {
  ReadCache<std::string> cache(100);
  REQUIRE(cache.Put(7, cache.Ticket(7), "seven"));
  REQUIRE(cache.Put(8, cache.Ticket(8), "eight"));
  REQUIRE(cache.Put(kAll, cache.Ticket(kAll), "all"));
  CHECK(cache.Get(7) == "seven");
  CHECK_FALSE(cache.Get(9).has_value());

  cache.Announce("7");
  CHECK_FALSE(cache.Get(7).has_value());
  CHECK_FALSE(cache.Get(kAll).has_value());
  CHECK(cache.Get(8) == "eight");

  cache.Announce("*");
  CHECK(cache.size() == 0);
}

TEST_CASE("a payload that names no organization drops everything", "[read_cache]") {
  for (const std::string payload : {"", "x7", "7 8", "0", "99999999999999999999999"}) {
    ReadCache<std::string> cache(100);
    REQUIRE(cache.Put(7, cache.Ticket(7), "seven"));
    REQUIRE(cache.Put(8, cache.Ticket(8), "eight"));
    cache.Announce(payload);
    INFO(payload);
    CHECK(cache.size() == 0);
  }
}

TEST_CASE("a fill that started before a change is not kept", "[read_cache]") {
  ReadCache<std::string> cache(100);
  // The reader takes its ticket, reads the database (old rows), a change is announced, then
  // the reader tries to keep what it read: refused, or the old rows would outlive the change.
  const uint64_t ticket = cache.Ticket(7);
  cache.Changed(7);
  CHECK_FALSE(cache.Put(7, ticket, "old"));
  CHECK_FALSE(cache.Get(7).has_value());
  // The every-organization view races with every change.
  const uint64_t all_ticket = cache.Ticket(kAll);
  cache.Changed(12345);
  CHECK_FALSE(cache.Put(kAll, all_ticket, "old total"));
  // A reset (the LISTEN connection reopened) stops every fill in progress.
  const uint64_t before_reset = cache.Ticket(8);
  cache.ChangedAll();
  CHECK_FALSE(cache.Put(8, before_reset, "old"));
  // A fill that started after the change is kept.
  CHECK(cache.Put(7, cache.Ticket(7), "new"));
  CHECK(cache.Get(7) == "new");
}

TEST_CASE("the cache holds at most its capacity, and capacity 0 keeps nothing", "[read_cache]") {
  ReadCache<int> cache(3);
  for (int64_t key = 1; key <= 3; ++key) REQUIRE(cache.Put(key, cache.Ticket(key), 1));
  CHECK(cache.size() == 3);
  CHECK(cache.Put(1, cache.Ticket(1), 2));  // replacing needs no room
  CHECK(cache.size() == 3);
  CHECK(cache.Put(4, cache.Ticket(4), 1));  // a new key when full starts over
  CHECK(cache.size() == 1);
  CHECK(cache.Get(4) == 1);

  ReadCache<int> none(0);
  CHECK_FALSE(none.Put(1, none.Ticket(1), 1));
  CHECK(none.size() == 0);
}
