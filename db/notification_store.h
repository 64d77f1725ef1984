#pragma once
// A user's notifications (table notifications). No gRPC types.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pool.h"
#include "db/statement.h"
#include "db/vehicle_store.h"

namespace zeva::db {

struct NotificationRecord {
  int64_t id = 0;
  std::string event_type;
  std::string message;
  int64_t transfer_id = 0;
  int64_t journal_id = 0;
  int64_t icbc_import_id = 0;
  int64_t application_id = 0;
  int64_t model_year_report_id = 0;
  int64_t created_micros = 0;
  bool read = false;
};

class NotificationStore {
 public:
  explicit NotificationStore(ConnectionPool& pool) : pool_(pool) {}

  // The user's notifications by id after `after_id`, at most `limit` (0: all), in pages.
  absl::Status List(const std::string& username, bool unread_only, int64_t after_id, int64_t limit,
                    const Budget& budget, const RowSink<NotificationRecord>& sink);
  // Unread -> read, of the user's own only; `ids` empty: all of them. Returns how many.
  absl::StatusOr<int64_t> MarkRead(const std::string& username, const std::vector<int64_t>& ids,
                                   const Budget& budget);
  absl::StatusOr<int64_t> CountUnread(const std::string& username, const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
