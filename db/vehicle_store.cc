#include "db/vehicle_store.h"

#include <limits>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "db/paged_stream.h"
#include "domain/credit_rule.h"

namespace zeva::db {
namespace {

#define ZEVA_VEHICLE_COLUMNS \
  "id, organization_id, make, model, type, \"trim\", range, credits::text "

// Keyset pagination on (range DESC, id DESC): each batch starts after the last row sent.
constexpr Statement kListVehicles{"list_vehicles", "SELECT " ZEVA_VEHICLE_COLUMNS
                                                   "FROM vehicles "
                                                   "WHERE (range, id) < ($1::integer, $2::bigint) "
                                                   "ORDER BY range DESC, id DESC LIMIT $3"};
constexpr Statement kListVehiclesOfOrganization{
    "list_vehicles_of_organization",
    "SELECT " ZEVA_VEHICLE_COLUMNS
    "FROM vehicles "
    "WHERE organization_id = $1 AND (range, id) < ($2::integer, $3::bigint) "
    "ORDER BY range DESC, id DESC LIMIT $4"};
constexpr Statement kFindVehicle{"find_vehicle",
                                 "SELECT " ZEVA_VEHICLE_COLUMNS "FROM vehicles WHERE id = $1"};
constexpr Statement kFindVehicleOfOrganization{
    "find_vehicle_of_organization",
    "SELECT " ZEVA_VEHICLE_COLUMNS "FROM vehicles WHERE id = $1 AND organization_id = $2"};
constexpr Statement kInsertVehicle{
    "insert_vehicle",
    "INSERT INTO vehicles (organization_id, make, model, type, \"trim\", range, credits, "
    "created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, now(), now()) "
    "RETURNING id"};
constexpr Statement kUpdateVehicle{
    "update_vehicle",
    "UPDATE vehicles SET make = $3, model = $4, type = $5, \"trim\" = $6, range = $7, "
    "credits = $8::numeric, updated = now() "
    "WHERE id = $1 AND organization_id = $2 RETURNING id"};

#undef ZEVA_VEHICLE_COLUMNS

absl::StatusOr<VehicleRecord> ToRecord(const pqxx::row& row) {
  VehicleRecord v;
  v.id = row[0].as<int64_t>();
  v.organization_id = row[1].as<int64_t>();
  v.make = row[2].as<std::string>();
  v.model = row[3].as<std::string>();
  v.type = row[4].as<std::string>();
  v.trim = row[5].as<std::string>();
  v.range_km = row[6].as<int32_t>();
  if (!domain::DecimalToHundredths(row[7].as<std::string>(), &v.credit_hundredths)) {
    return absl::InternalError(
        absl::StrCat("vehicle ", v.id, " has unreadable credits ", row[7].as<std::string>()));
  }
  return v;
}

}  // namespace

const std::vector<Statement>& VehicleStore::Statements() {
  static const std::vector<Statement> statements{kListVehicles,  kListVehiclesOfOrganization,
                                                 kFindVehicle,   kFindVehicleOfOrganization,
                                                 kInsertVehicle, kUpdateVehicle};
  return statements;
}

absl::Status VehicleStore::List(const Scope& scope, const Budget& budget,
                                const RowSink<VehicleRecord>& sink) {
  int32_t after_range = std::numeric_limits<int32_t>::max();
  int64_t after_id = std::numeric_limits<int64_t>::max();
  return StreamPages(
      pool_, budget,
      [&](pqxx::transaction_base& tx) {
        return scope.organization_id
                   ? tx.exec_prepared(kListVehiclesOfOrganization.name, *scope.organization_id,
                                      after_range, after_id, kStreamPageSize)
                   : tx.exec_prepared(kListVehicles.name, after_range, after_id, kStreamPageSize);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        auto record = ToRecord(row);
        if (!record.ok()) return record.status();
        after_range = record->range_km;
        after_id = record->id;
        return sink(*record);
      });
}

absl::StatusOr<std::optional<VehicleRecord>> VehicleStore::Find(int64_t id, const Scope& scope,
                                                                const Budget& budget) {
  return pool_.Run<std::optional<VehicleRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<VehicleRecord>> {
        pqxx::nontransaction tx(c);
        const pqxx::result rows =
            scope.organization_id
                ? tx.exec_prepared(kFindVehicleOfOrganization.name, id, *scope.organization_id)
                : tx.exec_prepared(kFindVehicle.name, id);
        if (rows.empty()) return std::nullopt;
        auto record = ToRecord(rows[0]);
        if (!record.ok()) return record.status();
        return *record;
      });
}

absl::StatusOr<int64_t> VehicleStore::Create(int64_t organization_id, const VehicleWrite& v,
                                             const Budget& budget) {
  return pool_.Run<int64_t>(budget, [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::work tx(c);
    const pqxx::row row =
        tx.exec_prepared1(kInsertVehicle.name, organization_id, v.make, v.model, v.type, v.trim,
                          v.range_km, domain::HundredthsToDecimal(v.credit_hundredths));
    tx.commit();
    return row[0].as<int64_t>();
  });
}

absl::StatusOr<bool> VehicleStore::Update(int64_t id, int64_t organization_id,
                                          const VehicleWrite& v, const Budget& budget) {
  return pool_.Run<bool>(budget, [&](pqxx::connection& c) -> absl::StatusOr<bool> {
    pqxx::work tx(c);
    const pqxx::result rows =
        tx.exec_prepared(kUpdateVehicle.name, id, organization_id, v.make, v.model, v.type, v.trim,
                         v.range_km, domain::HundredthsToDecimal(v.credit_hundredths));
    tx.commit();
    return !rows.empty();
  });
}

}  // namespace zeva::db
