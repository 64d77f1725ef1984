#pragma once
// Vehicle models (table `vehicles`).

#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "db/pool.h"
#include "db/records.h"
#include "db/statement.h"

namespace zeva::db {

// Receives rows one by one; returns false to stop (client gone or cancelled).
template <typename Row>
using RowSink = std::function<bool(const Row&)>;

class VehicleStore {
 public:
  explicit VehicleStore(ConnectionPool& pool) : pool_(pool) {}

  // The scope's vehicles, longest range first (then newest id), fetched in bounded pages
  // (db/paged_stream.h). CANCELLED when the sink stops early.
  absl::Status List(const Scope& scope, const Budget& budget, const RowSink<VehicleRecord>& sink);
  // nullopt when the vehicle does not exist or lies outside the scope.
  absl::StatusOr<std::optional<VehicleRecord>> Find(int64_t id, const Scope& scope,
                                                    const Budget& budget);
  // ALREADY_EXISTS when the organization has an identical model.
  absl::StatusOr<int64_t> Create(int64_t organization_id, const VehicleWrite& vehicle,
                                 const Budget& budget);
  // Replaces every field of the organization's vehicle `id` in one statement (PostgreSQL's
  // row lock orders concurrent updates; each applies whole). false when there is no such
  // vehicle in that organization; ALREADY_EXISTS when it would duplicate another model.
  absl::StatusOr<bool> Update(int64_t id, int64_t organization_id, const VehicleWrite& vehicle,
                              const Budget& budget);

  static const std::vector<Statement>& Statements();

 private:
  ConnectionPool& pool_;
};

}  // namespace zeva::db
