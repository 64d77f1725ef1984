#pragma once
// A server stream of gRPC's callback API fed from a thread that may wait (the blocking pool):
// the handler's body writes rows as it reads them from the database, gRPC sends them from its
// own threads, and flow control reaches the body as a Write that waits for room. At most
// kQueuedRows rows wait in memory: a client that reads slowly holds its own call's thread,
// never a gRPC thread or a database connection (db/paged_stream hands a page over only after
// its connection went back to the pool).

#include <grpcpp/support/server_callback.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace zeva::services {

// What a streaming handler's body writes its rows to.
template <typename Row>
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  // Queues `row` (a copy) for sending, waiting while kQueuedRows are queued. False once the
  // client cancelled or a send failed: the body should stop.
  virtual bool Write(const Row& row) = 0;
};

inline constexpr size_t kQueuedRows = 64;

template <typename Row>
class RowStreamReactor final : public grpc::ServerWriteReactor<Row>, public RowWriter<Row> {
 public:
  bool Write(const Row& row) override {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return stopped_ || queue_.size() < kQueuedRows; });
    if (stopped_) return false;
    queue_.push_back(row);
    if (writing_) return true;  // OnWriteDone sends it
    writing_ = true;
    const Row* next = &queue_.front();  // a deque's elements stay put while it grows
    lock.unlock();
    this->StartWrite(next);
    return true;
  }

  // Ends the call with `status` once the rows queued before it are sent (at once when none
  // is in flight). Called once, by the body's thread, after its last Write.
  void FinishWhenWritten(grpc::Status status) {
    std::unique_lock<std::mutex> lock(mu_);
    if (writing_) {
      final_ = std::move(status);
      return;
    }
    lock.unlock();
    this->Finish(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.pop_front();
    if (!ok) stopped_ = true;
    room_.notify_one();
    if (!stopped_ && !queue_.empty()) {
      const Row* next = &queue_.front();
      lock.unlock();
      this->StartWrite(next);
      return;
    }
    writing_ = false;
    if (!final_) return;
    grpc::Status status = *std::move(final_);
    lock.unlock();
    this->Finish(std::move(status));
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    room_.notify_one();
  }

  void OnDone() override { delete this; }

 private:
  std::mutex mu_;
  std::condition_variable room_;
  std::deque<Row> queue_;  // the front is being sent while writing_
  bool writing_ = false;
  bool stopped_ = false;  // cancelled, or a send failed: no more rows
  std::optional<grpc::Status> final_;
};

}  // namespace zeva::services
