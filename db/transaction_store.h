#pragma once
// Credit transactions (table `transactions`).

#include "absl/status/status.h"
#include "db/pool.h"
#include "db/records.h"
#include "db/statement.h"
#include "db/vehicle_store.h"

namespace zeva::db {

class TransactionStore {
 public:
  explicit TransactionStore(ConnectionPool& pool) : pool_(pool) {}

  // The scope's transactions in id order, fetched in bounded pages (db/paged_stream.h), so memory
  // stays flat however many rows there are. CANCELLED when the sink stops early.
  absl::Status List(const Scope& scope, const Budget& budget,
                    const RowSink<TransactionRecord>& sink);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
