#include "db/change_feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/connection.h"
#include "db/session.h"
#include "spdlog/spdlog.h"

namespace zeva::db {

struct ChangeFeed::Receiver : pqxx::notification_receiver {
  Receiver(pqxx::connection_base& c, const std::string& channel, const OnChange& on_change)
      : pqxx::notification_receiver(c, channel), on_change_(on_change) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    on_change_(channel(), payload);
  }
  const OnChange& on_change_;
};

ChangeFeed::ChangeFeed(Options options, OnChange on_change, OnReset on_reset)
    : options_(std::move(options)),
      on_change_(std::move(on_change)),
      on_reset_(std::move(on_reset)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  thread_ = std::thread([this] { Run(); });
  sweeper_ = std::thread([this] { Sweep(); });
}

ChangeFeed::~ChangeFeed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  NotifyAll();
  Wake();
  thread_.join();
  sweeper_.join();
  // Unanswered continuations are dropped, not run: their owners (gRPC calls) are gone by now.
  // None is left in practice: the sweeper gives up on each within max_wait, and the server
  // stops the feed only after its calls have ended.
  waiters_.clear();
  receivers_.clear();  // before their connection
  connection_.reset();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ChangeFeed::RunAll(std::vector<Then>& thens, bool caught_up) {
  for (Then& then : thens) {
    // A throwing continuation must neither take the feed down nor keep the others from running.
    try {
      then(caught_up);
    } catch (const std::exception& e) {
      spdlog::error("a change-feed continuation failed: {}", e.what());
    } catch (...) {
      spdlog::error("a change-feed continuation failed");
    }
  }
  thens.clear();
}

std::vector<ChangeFeed::Then> ChangeFeed::TakeAnswered(uint64_t done) {
  std::vector<Then> taken;
  auto answered = waiters_.begin();
  while (answered != waiters_.end() && (done == 0 || answered->ticket <= done)) ++answered;
  taken.reserve(static_cast<size_t>(answered - waiters_.begin()));
  for (auto it = waiters_.begin(); it != answered; ++it) taken.push_back(std::move(it->then));
  waiters_.erase(waiters_.begin(), answered);
  return taken;
}

void ChangeFeed::Sweep() {
  // A tenth of a second is plenty: a continuation lands here only when the database stopped
  // answering, and waking ten times a second costs nothing measurable.
  constexpr auto kEvery = std::chrono::milliseconds(100);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    stop_.wait_for(lock, kEvery, [&] { return stopping_; });
    const auto now = std::chrono::system_clock::now();
    std::vector<Then> expired;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->deadline > now) {
        ++it;
        continue;
      }
      expired.push_back(std::move(it->then));
      it = waiters_.erase(it);
    }
    if (expired.empty()) continue;
    lock.unlock();
    RunAll(expired, false);
    lock.lock();
  }
}

void ChangeFeed::NotifyAll() {
  answered_[0].notify_all();
  answered_[1].notify_all();
  stop_.notify_all();
}

void ChangeFeed::Wake() const {
  const uint64_t one = 1;
  // A full counter (impossible in practice) still leaves the descriptor readable.
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof one);
}

bool ChangeFeed::CatchUp(std::chrono::system_clock::time_point deadline) {
  deadline = std::min(deadline, std::chrono::system_clock::now() + options_.max_wait);
  std::unique_lock<std::mutex> lock(mu_);
  if (!connected_) return false;
  // The next barrier to start is sent after this moment: its answer is the proof.
  const uint64_t ticket = next_;
  if (!wanted_) {
    wanted_ = true;
    Wake();
  }
  answered_[ticket % 2].wait_until(lock, deadline,
                                   [&] { return done_ >= ticket || !connected_ || stopping_; });
  return done_ >= ticket;
}

bool ChangeFeed::CatchUpThen(std::chrono::system_clock::time_point deadline, Then then) {
  deadline = std::min(deadline, std::chrono::system_clock::now() + options_.max_wait);
  std::lock_guard<std::mutex> lock(mu_);
  if (!connected_ || stopping_) return false;
  waiters_.push_back({next_, deadline, std::move(then)});
  if (!wanted_) {
    wanted_ = true;
    Wake();
  }
  return true;
}

void ChangeFeed::ServerSeen(const std::string& server) {
  std::vector<Then> unanswered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (server.empty() || !connected_ || listening_server_.empty() || server == listening_server_) {
      return;
    }
    other_server_ = server;
    connected_ = false;  // no CatchUp succeeds on the old server's word from now on
    unanswered = TakeAnswered(0);
  }
  NotifyAll();
  Wake();
  RunAll(unanswered, false);
}

bool ChangeFeed::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
}

ChangeFeed::Stats ChangeFeed::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ChangeFeed::RoundTrip() {
  {
    // An empty query: PostgreSQL parses and plans nothing, and still sends the session's
    // pending notifications before it says it is ready again.
    pqxx::nontransaction tx(*connection_);
    tx.exec("");
  }
  // Notifications that arrived with (before) the answer; libpqxx hands them out only
  // outside a transaction.
  connection_->get_notifs();
}

bool ChangeFeed::Open() {
  auto connection = Connect(options_.url, options_.application_name,
                            std::min(options_.connect_timeout_seconds, kMaxConnectTimeoutSeconds),
                            options_.peer_timeout_ms);
  if (!connection.ok()) {
    // Said once per outage, not at every attempt (one a second).
    spdlog::log(failed_opens_++ == 0 ? spdlog::level::warn : spdlog::level::debug,
                "cannot listen on {} (retrying every {} ms): {}",
                absl::StrJoin(options_.channels, ", "), options_.reconnect_delay.count(),
                std::string(connection.status().message()));
    return false;
  }
  std::string server;
  try {
    connection_ = std::move(*connection);
    for (const std::string& channel : options_.channels) {
      receivers_.push_back(std::make_unique<Receiver>(*connection_, channel, on_change_));
    }
    server = ServerIdentity(*connection_);
    // LISTEN is in effect once a round trip after it has been answered.
    RoundTrip();
  } catch (const std::exception& e) {
    Lost(e.what());
    return false;
  }
  const bool other_server = !server_.empty() && !server.empty() && server != server_;
  if (other_server) {
    spdlog::warn(
        "the LISTEN connection reached another server (system identifier/timeline {}, was {}): "
        "every cached read is dropped",
        server, server_);
  }
  if (!server.empty()) server_ = server;
  // Whatever was announced while nobody listened is unknown: forget it all first.
  on_reset_();
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = true;
    listening_server_ = server;
    other_server_.clear();
    ++stats_.connects;
    if (other_server) ++stats_.server_changes;
  }
  spdlog::info("listening on {}{}", absl::StrJoin(options_.channels, ", "),
               failed_opens_ > 0 ? absl::StrCat(" after ", failed_opens_, " failed attempts") : "");
  failed_opens_ = 0;
  return true;
}

void ChangeFeed::Lost(const std::string& why) {
  std::vector<Then> unanswered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connected_ = false;
    unanswered = TakeAnswered(0);
  }
  NotifyAll();
  RunAll(unanswered, false);
  spdlog::warn("lost the LISTEN connection ({}): {}", absl::StrJoin(options_.channels, ", "), why);
  receivers_.clear();
  connection_.reset();
}

void ChangeFeed::Run() {
  for (;;) {
    bool barrier_wanted = false;
    std::string other_server;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      other_server.swap(other_server_);
      if (connection_ == nullptr) {
        lock.unlock();
        if (!Open()) {
          lock.lock();
          stop_.wait_for(lock, options_.reconnect_delay, [&] { return stopping_; });
        }
        continue;
      }
      barrier_wanted = wanted_;
    }
    if (!other_server.empty()) {
      Lost(absl::StrCat("a pooled connection reached server ", other_server, ", it listens on ",
                        server_));
      continue;
    }
    pollfd fds[2] = {{connection_->sock(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    // Idle, the thread still reads what arrives, so that the server never blocks on a full
    // socket and the caches drop changed copies early. Wanted, the barrier goes out at once
    // (its answer brings any notification with it; the wake-up is read when next idle).
    if (!barrier_wanted && poll(fds, 2, 1000) < 0) continue;  // EINTR
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t count = 0;
      [[maybe_unused]] const ssize_t got = read(wake_fd_, &count, sizeof count);
    }
    try {
      if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) connection_->get_notifs();
      uint64_t barrier = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (wanted_) {
          barrier = next_++;
          wanted_ = false;
        }
      }
      if (barrier == 0) continue;
      RoundTrip();
      std::vector<Then> answered;
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_ = barrier;
        ++stats_.round_trips;
        answered = TakeAnswered(barrier);
      }
      answered_[barrier % 2].notify_all();
      RunAll(answered, true);
    } catch (const std::exception& e) {
      Lost(e.what());
    }
  }
}

}  // namespace zeva::db
