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
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

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
// A body that filled the queue waits until it has drained to this many: it then writes a batch
// without waiting, instead of waking (a context switch) for every row sent.
inline constexpr size_t kRefillRows = 16;

template <typename Row>
class RowStreamReactor final : public grpc::ServerWriteReactor<Row>, public RowWriter<Row> {
 public:
  RowStreamReactor() : slots_(kQueuedRows) {}

  bool Write(const Row& row) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (queued_ == kQueuedRows) {
      waiting_ = true;
      room_.wait(lock, [&] { return stopped_ || queued_ <= kRefillRows; });
      waiting_ = false;
    }
    if (stopped_) return false;
    // Copied into a slot no send uses; a slot's memory is reused (no allocation per row).
    slots_[(first_ + queued_) % kQueuedRows] = row;
    ++queued_;
    if (writing_) return true;  // OnWriteDone sends it
    writing_ = true;
    const Row* next = &slots_[first_];
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
    first_ = (first_ + 1) % kQueuedRows;
    --queued_;
    if (!ok) stopped_ = true;
    if (waiting_ && (stopped_ || queued_ <= kRefillRows)) room_.notify_one();
    if (!stopped_ && queued_ > 0) {
      const Row* next = &slots_[first_];
      // More rows queued behind this one: gRPC may hold it back to send them together.
      grpc::WriteOptions options;
      if (queued_ > 1) options.set_buffer_hint();
      lock.unlock();
      this->StartWrite(next, options);
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
  std::vector<Row> slots_;  // a ring: queued_ rows from first_, which is being sent while writing_
  size_t first_ = 0;
  size_t queued_ = 0;
  bool writing_ = false;
  bool waiting_ = false;  // the body waits for the queue to drain to kRefillRows
  bool stopped_ = false;  // cancelled, or a send failed: no more rows
  std::optional<grpc::Status> final_;
};

}  // namespace zeva::services
