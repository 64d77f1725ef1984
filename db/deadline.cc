#include "db/deadline.h"

#include <algorithm>
#include <string>

namespace zeva::db {

void ApplyDeadline(pqxx::transaction_base& tx, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left > std::chrono::hours(1)) return;
  const long long ms = std::max<long long>(1, left.count());
  tx.exec_prepared(kSetStatementTimeout.name, std::to_string(ms) + "ms");
}

}  // namespace zeva::db
