#include "db/application_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/event_writes.h"
#include "db/ledger_writes.h"
#include "db/paged_stream.h"
#include "domain/refusal.h"
#include "domain/vin.h"

namespace zeva::db {
namespace {

using domain::ApplicationEffect;
using Kind = ApplicationOutcome::Kind;

#define ZEVA_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

// Applications whole, in one statement (one snapshot): the head, its lines (records grouped
// by vehicle and model year, with the values fixed at SUBMIT when there are any), its warning
// counts and (when $2) its history, as JSON text.
constexpr Statement kApplicationsWhole{
    "application_whole",
    "SELECT a.id, a.organization_id, o.name, a.status::text, a.version, a.record_count, "
    "coalesce(a.journal_id, 0), coalesce(a.checked_against_import_id, 0), "
    "coalesce(i.current_to::text, ''), " ZEVA_MICROS("a.created_at") ", " ZEVA_MICROS(
        "a.updated_at") ", "
                        "coalesce((SELECT json_agg(json_build_array(g.vehicle_id, v.make, "
                        "v.model, v.type, v.range, g.model_year, l.vehicle_id IS NOT NULL, "
                        "coalesce(l.credit_class::text, ''), coalesce(l.credit_value, 0), "
                        "g.records, g.included) ORDER BY g.vehicle_id, g.model_year) "
                        "FROM (SELECT r.vehicle_id, r.model_year, count(*) AS records, "
                        "count(*) FILTER (WHERE r.included) AS included "
                        "FROM credit_application_records r WHERE r.application_id = a.id "
                        "GROUP BY r.vehicle_id, r.model_year) g "
                        "JOIN vehicles v ON v.id = g.vehicle_id "
                        "LEFT JOIN credit_application_lines l ON l.application_id = a.id "
                        "AND l.vehicle_id = g.vehicle_id AND l.model_year = g.model_year), "
                        "'[]')::text, "
                        "coalesce((SELECT json_agg(json_build_array(w.warning, w.records) "
                        "ORDER BY w.warning) FROM (SELECT u.warning, count(*) AS records "
                        "FROM credit_application_records r, unnest(r.warnings) AS u(warning) "
                        "WHERE r.application_id = a.id GROUP BY u.warning) w), '[]')::text, "
                        "CASE WHEN $2 THEN coalesce((SELECT json_agg(json_build_array(h.seq, "
                        "coalesce(h.action::text, ''), coalesce(h.from_status::text, ''), "
                        "h.to_status::text, h.actor, h.actor_organization_id, h.comment, " ZEVA_MICROS(
                            "h.at") ") ORDER BY h.seq) FROM credit_application_history h "
                                    "WHERE h.application_id = a.id), '[]') ELSE '[]' END::text "
                                    "FROM credit_applications a "
                                    "JOIN organizations o ON o.id = a.organization_id "
                                    "LEFT JOIN icbc_imports i ON i.id = "
                                    "a.checked_against_import_id "
                                    "WHERE a.id = ANY($1::bigint[]) ORDER BY a.id"};
#undef ZEVA_MICROS

constexpr Statement kListApplicationIds{
    "application_list_ids",
    "SELECT id FROM credit_applications WHERE id > $1 AND ($2 = 0 OR organization_id = $2) "
    "AND (cardinality($3::application_status[]) = 0 OR status = ANY($3::application_status[])) "
    "ORDER BY id LIMIT $4"};
// $2: 0 every record, 1 with warnings, 2 included, 3 excluded.
constexpr Statement kListRecords{
    "application_list_records",
    "SELECT id, vin, vehicle_id, model_year, sale_date::text, array_to_json(warnings)::text, "
    "included, decision_reason, icbc_make, icbc_model, icbc_model_year "
    "FROM credit_application_records WHERE application_id = $1 AND id > $3 "
    "AND ($2 = 0 OR ($2 = 1 AND cardinality(warnings) > 0) OR ($2 = 2 AND included) "
    "OR ($2 = 3 AND NOT included)) ORDER BY id LIMIT $4"};
constexpr Statement kInsertApplication{
    "application_insert",
    "WITH a AS (INSERT INTO credit_applications (organization_id) VALUES ($1) RETURNING id) "
    "INSERT INTO credit_application_history (application_id, seq, to_status, actor, "
    "actor_organization_id, roles, comment) SELECT a.id, 1, 'DRAFT', $2, $1, $3, $4 FROM a "
    "RETURNING application_id"};
constexpr Statement kLockApplication{
    "application_lock",
    "SELECT id, organization_id, status::text, version, record_count "
    "FROM credit_applications WHERE id = $1 FOR UPDATE"};
// A change of records or decisions: version + 1.
constexpr Statement kTouchApplication{
    "application_touch",
    "UPDATE credit_applications SET version = version + 1, updated_at = now(), "
    "record_count = record_count + $2 WHERE id = $1"};
constexpr Statement kVehiclesOf{
    "application_vehicles",
    "SELECT id, organization_id, type, range FROM vehicles WHERE id = ANY($1::bigint[])"};
constexpr Statement kVinsPresent{
    "application_vins_present",
    "SELECT vin FROM credit_application_records WHERE application_id = $1 "
    "AND vin = ANY($2::varchar[])"};
constexpr Statement kInsertRecords{
    "application_insert_records",
    "INSERT INTO credit_application_records (application_id, vin, vehicle_id, model_year, "
    "sale_date, check_digit_ok) SELECT $1, * FROM unnest($2::varchar[], $3::bigint[], "
    "$4::smallint[], $5::date[], $6::boolean[])"};
constexpr Statement kDeleteRecords{
    "application_delete_records",
    "DELETE FROM credit_application_records WHERE application_id = $1 "
    "AND id = ANY($2::bigint[]) RETURNING id"};
// The decided records as stored, and whether their VIN is awarded now.
constexpr Statement kDecidedRecords{
    "application_decided_records",
    "SELECT r.id, cardinality(r.warnings) > 0, "
    "EXISTS (SELECT 1 FROM awarded_vins w WHERE w.vin = r.vin) "
    "FROM credit_application_records r WHERE r.application_id = $1 AND r.id = ANY($2::bigint[])"};
constexpr Statement kApplyDecisions{
    "application_apply_decisions",
    "UPDATE credit_application_records r SET included = d.included, decision_reason = d.reason "
    "FROM unnest($2::bigint[], $3::boolean[], $4::text[]) AS d(id, included, reason) "
    "WHERE r.application_id = $1 AND r.id = d.id"};
// The status change and its history row in one round trip (seq: the application's next).
constexpr Statement kAppendHistory{
    "application_append_history",
    "WITH s AS (UPDATE credit_applications SET status = $2::application_status, "
    "version = version + 1, journal_id = NULLIF($3::bigint, 0), updated_at = now() WHERE id = $1) "
    "INSERT INTO credit_application_history (application_id, seq, action, from_status, "
    "to_status, actor, actor_organization_id, roles, comment) "
    "SELECT $1::bigint, coalesce(max(seq), 0) + 1, $4::application_action, "
    "$5::application_status, $2::application_status, $6::varchar, $7::bigint, $8::varchar, "
    "$9::text FROM credit_application_history WHERE application_id = $1::bigint"};
// SUBMIT: the (vehicle, model year) pairs with records and their vehicles as they are now.
constexpr Statement kLinesToFix{
    "application_lines_to_fix",
    "SELECT g.vehicle_id, g.model_year, v.type, v.range FROM (SELECT DISTINCT vehicle_id, "
    "model_year FROM credit_application_records WHERE application_id = $1) g "
    "JOIN vehicles v ON v.id = g.vehicle_id ORDER BY g.vehicle_id, g.model_year"};
constexpr Statement kInsertLines{
    "application_insert_lines",
    "INSERT INTO credit_application_lines (application_id, vehicle_id, model_year, "
    "credit_class, credit_value) SELECT $1, d.vehicle_id, d.model_year, "
    "NULLIF(d.credit_class, '')::credit_class, d.credit_value FROM unnest($2::bigint[], "
    "$3::smallint[], $4::text[], $5::bigint[]) AS d(vehicle_id, model_year, credit_class, "
    "credit_value)"};
// CHECK: every warning of every record in one set-based pass and one snapshot (a concurrent
// import is seen wholly or not at all), decisions replaced, and the import it used. The
// newest COMPLETED import is the one that finished last (ties: the higher id); registrations
// are cumulative, so the whole table is the data as of that import, and none without one.
// `s` is MATERIALIZED: inlined, its warnings expression (two regexps and the
// VIN_IN_OTHER_APPLICATION subplan a record) was evaluated twice, once per SET column that
// names it, and the join back to the records by id was planned as 20,000 index probes on a
// table without statistics yet (EXPLAIN ANALYZE of a 20,000-record CHECK, docs/performance.md).
constexpr Statement kCheck{
    "application_check",
    "WITH imp AS (SELECT id FROM icbc_imports WHERE status = 'COMPLETED' "
    "  ORDER BY finished_at DESC, id DESC LIMIT 1), "
    "s AS MATERIALIZED (SELECT r.id, g.make AS icbc_make, g.model AS icbc_model, "
    "  g.model_year AS icbc_year, "
    "  array_remove(ARRAY[ "
    "    CASE WHEN g.vin IS NULL THEN 1 END, "
    "    CASE WHEN g.vin IS NOT NULL AND upper(btrim(regexp_replace(g.make, '\\s+', ' ', 'g'))) "
    "      <> upper(btrim(regexp_replace(v.make, '\\s+', ' ', 'g'))) THEN 2 END, "
    "    CASE WHEN g.vin IS NOT NULL AND g.model_year <> r.model_year THEN 3 END, "
    "    CASE WHEN w.vin IS NOT NULL THEN 4 END, "
    "    CASE WHEN EXISTS (SELECT 1 FROM credit_application_records o "
    "      JOIN credit_applications oa ON oa.id = o.application_id "
    "      WHERE o.vin = r.vin AND o.application_id <> r.application_id AND oa.status IN "
    "      ('SUBMITTED', 'CHECKED', 'RECOMMENDED_APPROVAL', 'RECOMMENDED_REJECTION')) THEN 5 END, "
    "    CASE WHEN r.sale_date < date '2018-01-02' THEN 6 END, "
    "    CASE WHEN NOT r.check_digit_ok THEN 7 END]::smallint[], NULL) AS warnings "
    "  FROM credit_application_records r JOIN vehicles v ON v.id = r.vehicle_id "
    "  LEFT JOIN icbc_registrations g ON g.vin = r.vin AND EXISTS (SELECT 1 FROM imp) "
    "  LEFT JOIN awarded_vins w ON w.vin = r.vin "
    "  WHERE r.application_id = $1), "
    "u AS (UPDATE credit_application_records r SET warnings = s.warnings, "
    "  included = cardinality(s.warnings) = 0, decision_reason = '', "
    "  icbc_make = coalesce(s.icbc_make, ''), icbc_model = coalesce(s.icbc_model, ''), "
    "  icbc_model_year = coalesce(s.icbc_year, 0) FROM s WHERE r.id = s.id) "
    "UPDATE credit_applications SET checked_at = now(), "
    "checked_against_import_id = (SELECT id FROM imp) WHERE id = $1"};
// RETURN_TO_SUPPLIER: warnings, decisions, fixed values and the import cleared.
constexpr Statement kClearCheck{
    "application_clear_check",
    "WITH r AS (UPDATE credit_application_records SET warnings = '{}', included = false, "
    "decision_reason = '', icbc_make = '', icbc_model = '', icbc_model_year = 0 "
    "WHERE application_id = $1), "
    "l AS (DELETE FROM credit_application_lines WHERE application_id = $1) "
    "UPDATE credit_applications SET checked_at = NULL, checked_against_import_id = NULL "
    "WHERE id = $1"};
// VALIDATE: the included VINs awarded, in VIN order (two VALIDATEs sharing VINs take them in
// the same order); the ones another application holds are left out, and counted.
constexpr Statement kAward{
    "application_award",
    "WITH n AS (INSERT INTO awarded_vins (vin, application_id) SELECT vin, application_id "
    "FROM credit_application_records WHERE application_id = $1 AND included ORDER BY vin "
    "ON CONFLICT (vin) DO NOTHING RETURNING 1) "
    "SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM credit_application_records "
    "WHERE application_id = $1 AND included)"};
constexpr Statement kAwardedElsewhere{
    "application_awarded_elsewhere",
    "SELECT r.vin FROM credit_application_records r JOIN awarded_vins w ON w.vin = r.vin "
    "WHERE r.application_id = $1 AND r.included AND w.application_id <> $1 "
    "ORDER BY r.vin LIMIT 10"};
// VALIDATE: credits per (model year, class): included records x the value fixed at SUBMIT.
constexpr Statement kIssuance{
    "application_issuance",
    "SELECT l.model_year, l.credit_class::text, sum(l.credit_value * g.included)::bigint "
    "FROM credit_application_lines l JOIN (SELECT vehicle_id, model_year, count(*) AS included "
    "FROM credit_application_records WHERE application_id = $1 AND included "
    "GROUP BY vehicle_id, model_year) g ON g.vehicle_id = l.vehicle_id "
    "AND g.model_year = l.model_year WHERE l.application_id = $1 AND l.credit_class IS NOT NULL "
    "GROUP BY l.model_year, l.credit_class ORDER BY l.model_year, l.credit_class"};

// A PostgreSQL array literal of any texts: each element double-quoted, `"` and `\` escaped.
std::string QuotedArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

domain::Date DateOf(const std::string& text) {
  domain::Date d;
  if (text.size() == 10) {
    d.year = std::stoi(text.substr(0, 4));
    d.month = std::stoi(text.substr(5, 2));
    d.day = std::stoi(text.substr(8, 2));
  }
  return d;
}

std::vector<ApplicationRecord> LoadApplications(pqxx::transaction_base& tx,
                                                const std::vector<std::string>& ids, bool history) {
  std::vector<ApplicationRecord> out;
  for (const pqxx::row& row :
       tx.exec_prepared(kApplicationsWhole.name, ArrayLiteral(ids), history)) {
    ApplicationRecord a;
    a.id = row[0].as<int64_t>();
    a.organization_id = row[1].as<int64_t>();
    a.organization_name = row[2].as<std::string>();
    a.status = domain::ApplicationStatusNamed(row[3].as<std::string>());
    a.version = row[4].as<int>();
    a.record_count = row[5].as<int64_t>();
    a.journal_id = row[6].as<int64_t>();
    a.checked_against_import_id = row[7].as<int64_t>();
    const std::string current_to = row[8].as<std::string>();
    if (!current_to.empty()) a.icbc_current_to = DateOf(current_to);
    a.created_micros = row[9].as<int64_t>();
    a.updated_micros = row[10].as<int64_t>();
    for (const auto& l : nlohmann::json::parse(row[11].as<std::string>())) {
      ApplicationLineRecord line;
      line.vehicle_id = l[0].get<int64_t>();
      line.make = l[1].get<std::string>();
      line.model = l[2].get<std::string>();
      line.type = l[3].get<std::string>();
      line.range_km = l[4].get<uint32_t>();
      line.model_year = l[5].get<int32_t>();
      line.fixed = l[6].get<bool>();
      line.fixed_class = l[7].get<std::string>();
      line.fixed_value = l[8].get<int64_t>();
      line.records = l[9].get<int64_t>();
      line.included = l[10].get<int64_t>();
      a.lines.push_back(std::move(line));
    }
    for (const auto& w : nlohmann::json::parse(row[12].as<std::string>())) {
      a.warnings[w[0].get<int>()] = w[1].get<int64_t>();
    }
    for (const auto& h : nlohmann::json::parse(row[13].as<std::string>())) {
      ApplicationEventRecord e;
      e.seq = h[0].get<int>();
      e.action = h[1].get<std::string>();
      e.from_status = h[2].get<std::string>();
      e.to_status = h[3].get<std::string>();
      e.actor = h[4].get<std::string>();
      e.actor_organization_id = h[5].get<int64_t>();
      e.comment = h[6].get<std::string>();
      e.at_micros = h[7].get<int64_t>();
      a.history.push_back(std::move(e));
    }
    out.push_back(std::move(a));
  }
  return out;
}

// Gives the claimed key the changed application and its response.
std::string RecordApplication(pqxx::transaction_base& tx,
                              const KeyedChange<ApplicationRecord>& keyed, int64_t application_id) {
  return RecordResult(tx, keyed, application_id,
                      LoadApplications(tx, {std::to_string(application_id)}, true).front());
}

std::optional<ApplicationHead> LockApplication(pqxx::transaction_base& tx, int64_t application_id) {
  const pqxx::result rows = tx.exec_prepared(kLockApplication.name, application_id);
  if (rows.empty()) return std::nullopt;
  return ApplicationHead{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(),
                         domain::ApplicationStatusNamed(rows[0][2].as<std::string>()),
                         rows[0][3].as<int>(), rows[0][4].as<int64_t>()};
}

absl::Status NoSuchRecord(size_t index, int64_t id) {
  return domain::Refusal(absl::StatusCode::kNotFound,
                         absl::StrCat("no record with id ", id, " in this application"),
                         "NOT_FOUND", absl::StrCat("record_ids[", index, "]"));
}

// A change of records or decisions: key, lock, `access`, `stored` (the checks on stored
// data), `state`, `change`, then the version, the event and the key's result and response.
template <typename Stored, typename Change>
absl::StatusOr<ApplicationOutcome> ChangeRecords(ConnectionPool& pool, const Budget& budget,
                                                 const KeyedChange<ApplicationRecord>& keyed,
                                                 int64_t application_id,
                                                 const ApplicationRules& rules,
                                                 const Stored& stored, const Change& change) {
  return RunWithRetries<ApplicationOutcome>(
      pool, budget, [&](pqxx::connection& c) -> absl::StatusOr<ApplicationOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &ApplicationOutcome::application_id))
          return *earlier;
        const std::optional<ApplicationHead> head = LockApplication(tx, application_id);
        if (!head) return ApplicationOutcome{Kind::kNotFound, 0, std::nullopt};
        if (absl::Status s = rules.access(*head); !s.ok()) return s;
        if (absl::Status s = stored(tx, *head); !s.ok()) return s;
        if (absl::Status s = rules.state(*head); !s.ok()) return s;
        absl::StatusOr<int64_t> added = change(tx, *head);
        if (!added.ok()) return added.status();
        tx.exec_prepared(kTouchApplication.name, application_id, *added);
        WriteEvent(tx, domain::ApplicationUpdated(application_id), keyed.claim.username, 0, 0,
                   {head->organization_id}, 0, application_id);
        std::string response = RecordApplication(tx, keyed, application_id);
        tx.commit();
        return ApplicationOutcome{Kind::kDone, application_id, std::move(response)};
      });
}

// SUBMIT: each line's class and value under the rule as it is now.
void FixLines(pqxx::transaction_base& tx, int64_t application_id) {
  std::vector<std::string> vehicles, years, classes, values;
  for (const pqxx::row& row : tx.exec_prepared(kLinesToFix.name, application_id)) {
    const std::string type = row[2].as<std::string>();
    const uint32_t range = row[3].as<uint32_t>();
    const domain::CreditClass credit_class = domain::ClassOf(type, range);
    vehicles.push_back(row[0].as<std::string>());
    years.push_back(row[1].as<std::string>());
    if (credit_class == domain::CreditClass::kC) {
      classes.push_back("\"\"");
      values.push_back("0");
    } else {
      classes.push_back(credit_class == domain::CreditClass::kA ? "A" : "B");
      values.push_back(std::to_string(domain::CreditHundredths(type, range)));
    }
  }
  tx.exec_prepared(kInsertLines.name, application_id, ArrayLiteral(vehicles), ArrayLiteral(years),
                   ArrayLiteral(classes), ArrayLiteral(values));
}

absl::Status VinsAlreadyAwarded(const std::vector<std::string>& vins) {
  const std::string list = absl::StrJoin(vins, ",");
  return domain::WithMetadata(
      domain::Refusal(absl::StatusCode::kFailedPrecondition,
                      absl::StrCat("these VINs earned credits in another application since the "
                                   "last check: ",
                                   list, "; check the application again"),
                      domain::kReasonVinAlreadyAwarded),
      "vins", list);
}

}  // namespace

const std::vector<Statement>& ApplicationStore::Statements() {
  static const std::vector<Statement> statements{kApplicationsWhole, kListApplicationIds,
                                                 kListRecords,       kInsertApplication,
                                                 kLockApplication,   kTouchApplication,
                                                 kVehiclesOf,        kVinsPresent,
                                                 kInsertRecords,     kDeleteRecords,
                                                 kDecidedRecords,    kApplyDecisions,
                                                 kAppendHistory,     kLinesToFix,
                                                 kInsertLines,       kCheck,
                                                 kClearCheck,        kAward,
                                                 kAwardedElsewhere,  kIssuance};
  return statements;
}

absl::StatusOr<std::optional<ApplicationRecord>> ApplicationStore::Get(int64_t application_id,
                                                                       const Budget& budget) {
  return pool_.Run<std::optional<ApplicationRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<ApplicationRecord>> {
        pqxx::nontransaction tx(c);  // one statement: one snapshot
        std::vector<ApplicationRecord> found =
            LoadApplications(tx, {std::to_string(application_id)}, true);
        if (found.empty()) return std::nullopt;
        return std::move(found.front());
      });
}

absl::Status ApplicationStore::List(const ApplicationFilter& filter,
                                    const std::function<bool(const ApplicationRecord&)>& visible,
                                    const Budget& budget, const RowSink<ApplicationRecord>& sink) {
  const std::string statuses = ArrayLiteral(filter.statuses);
  return ListInPages<ApplicationRecord>(
      pool_, budget, filter.after_id, filter.limit,
      [&](pqxx::transaction_base& tx, int64_t after_id) {
        std::vector<std::string> ids;
        for (const pqxx::row& row :
             tx.exec_prepared(kListApplicationIds.name, after_id,
                              filter.organization_id.value_or(0), statuses, kListPageSize)) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      },
      [&](pqxx::transaction_base& tx, const std::vector<std::string>& ids) {
        return LoadApplications(tx, ids, false);
      },
      visible, sink);
}

absl::Status ApplicationStore::Records(int64_t application_id, RecordFilterKind filter,
                                       int64_t after_id, int64_t limit, const Budget& budget,
                                       const RowSink<SalesRecordRow>& sink) {
  return StreamPagesUpTo(
      pool_, budget, limit,
      [&](pqxx::transaction_base& tx, int64_t page_size) {
        return tx.exec_prepared(kListRecords.name, application_id, static_cast<int>(filter),
                                after_id, page_size);
      },
      [&](const pqxx::row& row) -> absl::StatusOr<bool> {
        SalesRecordRow r;
        r.id = row[0].as<int64_t>();
        r.vin = row[1].as<std::string>();
        r.vehicle_id = row[2].as<int64_t>();
        r.model_year = row[3].as<int32_t>();
        r.sale_date = DateOf(row[4].as<std::string>());
        for (const auto& w : nlohmann::json::parse(row[5].as<std::string>())) {
          r.warnings.push_back(w.get<int>());
        }
        r.included = row[6].as<bool>();
        r.decision_reason = row[7].as<std::string>();
        r.icbc_make = row[8].as<std::string>();
        r.icbc_model = row[9].as<std::string>();
        r.icbc_model_year = row[10].as<int32_t>();
        after_id = r.id;
        return sink(r);
      });
}

absl::StatusOr<ApplicationOutcome> ApplicationStore::Create(
    const KeyedChange<ApplicationRecord>& keyed, const Actor& actor, const std::string& comment,
    const Budget& budget) {
  return RunWithRetries<ApplicationOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<ApplicationOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &ApplicationOutcome::application_id))
          return *earlier;
        const int64_t id = tx.exec_prepared1(kInsertApplication.name, actor.organization_id,
                                             actor.username, actor.roles, comment)[0]
                               .as<int64_t>();
        WriteEvent(tx, domain::ApplicationCreated(id), actor.username, 0, 0,
                   {actor.organization_id}, 0, id);
        std::string response = RecordApplication(tx, keyed, id);
        tx.commit();
        return ApplicationOutcome{Kind::kDone, id, std::move(response)};
      });
}

absl::StatusOr<ApplicationOutcome> ApplicationStore::AddRecords(
    const KeyedChange<ApplicationRecord>& keyed, int64_t application_id,
    const std::vector<domain::NewRecord>& records, const ApplicationRules& rules,
    const Budget& budget) {
  auto stored = [&](pqxx::transaction_base& tx, const ApplicationHead& head) -> absl::Status {
    std::set<std::string> ids;
    for (const domain::NewRecord& r : records) ids.insert(std::to_string(r.vehicle_id));
    std::map<int64_t, domain::RecordVehicle> vehicles;
    for (const pqxx::row& row : tx.exec_prepared(
             kVehiclesOf.name, ArrayLiteral(std::vector<std::string>(ids.begin(), ids.end())))) {
      vehicles[row[0].as<int64_t>()] = domain::RecordVehicle{
          row[1].as<int64_t>(), row[2].as<std::string>(), row[3].as<uint32_t>()};
    }
    if (absl::Status s = domain::CheckRecordVehicles(records, vehicles, head.organization_id);
        !s.ok()) {
      return s;
    }
    std::vector<std::string> vins;
    vins.reserve(records.size());
    for (const domain::NewRecord& r : records) vins.push_back(r.vin);
    std::set<std::string> present;
    for (const pqxx::row& row :
         tx.exec_prepared(kVinsPresent.name, application_id, ArrayLiteral(vins))) {
      present.insert(row[0].as<std::string>());
    }
    for (size_t i = 0; i < records.size(); ++i) {
      if (present.count(records[i].vin) != 0) {
        return domain::Refusal(
            absl::StatusCode::kInvalidArgument,
            absl::StrCat("records[", i, "].vin ", records[i].vin, " is already in the application"),
            domain::kReasonDuplicateVin, absl::StrCat("records[", i, "].vin"));
      }
    }
    return absl::OkStatus();
  };
  auto change = [&](pqxx::transaction_base& tx,
                    const ApplicationHead& head) -> absl::StatusOr<int64_t> {
    const int64_t count = static_cast<int64_t>(records.size());
    if (head.record_count + count > domain::kMaxRecordsPerApplication) {
      return domain::Refusal(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("an application holds at most ", domain::kMaxRecordsPerApplication,
                       " records; this one has ", head.record_count),
          domain::kReasonTooManyRecords);
    }
    std::vector<std::string> vins, vehicles, years, dates, digits;
    for (const domain::NewRecord& r : records) {
      vins.push_back(r.vin);
      vehicles.push_back(std::to_string(r.vehicle_id));
      years.push_back(std::to_string(r.model_year));
      dates.push_back(domain::DateText(r.sale_date));
      digits.push_back(r.check_digit_ok ? "t" : "f");
    }
    tx.exec_prepared(kInsertRecords.name, application_id, ArrayLiteral(vins),
                     ArrayLiteral(vehicles), ArrayLiteral(years), ArrayLiteral(dates),
                     ArrayLiteral(digits));
    return count;
  };
  return ChangeRecords(pool_, budget, keyed, application_id, rules, stored, change);
}

absl::StatusOr<ApplicationOutcome> ApplicationStore::RemoveRecords(
    const KeyedChange<ApplicationRecord>& keyed, int64_t application_id,
    const std::vector<int64_t>& record_ids, const ApplicationRules& rules, const Budget& budget) {
  std::vector<std::string> ids;
  ids.reserve(record_ids.size());
  for (int64_t id : record_ids) ids.push_back(std::to_string(id));
  auto stored = [](pqxx::transaction_base&, const ApplicationHead&) { return absl::OkStatus(); };
  auto change = [&](pqxx::transaction_base& tx, const ApplicationHead&) -> absl::StatusOr<int64_t> {
    std::set<int64_t> removed;
    for (const pqxx::row& row :
         tx.exec_prepared(kDeleteRecords.name, application_id, ArrayLiteral(ids))) {
      removed.insert(row[0].as<int64_t>());
    }
    for (size_t i = 0; i < record_ids.size(); ++i) {
      // Returning without commit rolls the deletion back.
      if (removed.count(record_ids[i]) == 0) return NoSuchRecord(i, record_ids[i]);
    }
    return -static_cast<int64_t>(removed.size());
  };
  return ChangeRecords(pool_, budget, keyed, application_id, rules, stored, change);
}

absl::StatusOr<ApplicationOutcome> ApplicationStore::Decide(
    const KeyedChange<ApplicationRecord>& keyed, int64_t application_id,
    const std::vector<domain::Decision>& decisions, const ApplicationRules& rules,
    const Budget& budget) {
  std::vector<std::string> ids, included, reasons;
  for (const domain::Decision& d : decisions) {
    ids.push_back(std::to_string(d.record_id));
    included.push_back(d.included ? "t" : "f");
    reasons.push_back(d.reason);
  }
  auto stored = [](pqxx::transaction_base&, const ApplicationHead&) { return absl::OkStatus(); };
  auto change = [&](pqxx::transaction_base& tx, const ApplicationHead&) -> absl::StatusOr<int64_t> {
    std::map<int64_t, domain::DecidedRecord> found;
    for (const pqxx::row& row :
         tx.exec_prepared(kDecidedRecords.name, application_id, ArrayLiteral(ids))) {
      found[row[0].as<int64_t>()] = domain::DecidedRecord{row[1].as<bool>(), row[2].as<bool>()};
    }
    for (size_t i = 0; i < decisions.size(); ++i) {
      if (found.count(decisions[i].record_id) == 0) {
        return domain::Refusal(
            absl::StatusCode::kNotFound,
            absl::StrCat("no record with id ", decisions[i].record_id, " in this application"),
            "NOT_FOUND", absl::StrCat("decisions[", i, "].record_id"));
      }
    }
    if (absl::Status s = domain::CheckDecisionRules(decisions, found); !s.ok()) return s;
    // Reasons are free text: quoted (ArrayLiteral is for numbers and VINs).
    tx.exec_prepared(kApplyDecisions.name, application_id, ArrayLiteral(ids),
                     ArrayLiteral(included), QuotedArray(reasons));
    return int64_t{0};
  };
  return ChangeRecords(pool_, budget, keyed, application_id, rules, stored, change);
}

absl::StatusOr<ApplicationOutcome> ApplicationStore::Transition(
    const KeyedChange<ApplicationRecord>& keyed, const Actor& actor, int64_t application_id,
    domain::ApplicationAction action, const std::string& comment,
    const ApplicationTransitionRule& rule, const Budget& budget) {
  return RunWithRetries<ApplicationOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<ApplicationOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &ApplicationOutcome::application_id))
          return *earlier;
        const std::optional<ApplicationHead> head = LockApplication(tx, application_id);
        if (!head) return ApplicationOutcome{Kind::kNotFound, 0, std::nullopt};
        auto transition = rule(*head);
        if (!transition.ok()) return transition.status();

        int64_t journal_id = 0;
        std::vector<AccountKey> accounts;
        std::vector<AccountDelta> deltas;
        switch (transition->effect) {
          case ApplicationEffect::kFixValues:
            if (head->record_count == 0) {
              return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                                     "an application needs a record to be submitted",
                                     domain::kReasonNoRecords);
            }
            FixLines(tx, application_id);
            break;
          case ApplicationEffect::kCheck:
            tx.exec_prepared(kCheck.name, application_id);
            break;
          case ApplicationEffect::kClearCheck:
            tx.exec_prepared(kClearCheck.name, application_id);
            break;
          case ApplicationEffect::kIssue: {
            // The VINs first: a VIN another application was awarded (or is being awarded,
            // whose commit this insert waits for) refuses the whole VALIDATE.
            const pqxx::row counts = tx.exec_prepared1(kAward.name, application_id);
            if (counts[0].as<int64_t>() != counts[1].as<int64_t>()) {
              std::vector<std::string> vins;
              for (const pqxx::row& row :
                   tx.exec_prepared(kAwardedElsewhere.name, application_id)) {
                vins.push_back(row[0].as<std::string>());
              }
              return VinsAlreadyAwarded(vins);  // rolls back
            }
            std::vector<EntryLine> entries;
            for (const pqxx::row& row : tx.exec_prepared(kIssuance.name, application_id)) {
              const domain::CreditKey key{row[0].as<int32_t>(),
                                          domain::ClassNamed(row[1].as<std::string>())};
              const int64_t amount = row[2].as<int64_t>();
              if (amount == 0) continue;
              const AccountKey supplier{head->organization_id, key};
              entries.push_back(EntryLine{supplier, amount});
              entries.push_back(EntryLine{AccountKey{actor.organization_id, key}, -amount});
              accounts.push_back(supplier);
              deltas.push_back(AccountDelta{supplier, amount, 0});
            }
            if (!entries.empty()) {
              // As LedgerStore::Post orders an ISSUANCE: entries by account, the supplier's
              // accounts locked last, in the global order.
              std::sort(entries.begin(), entries.end(), [](const EntryLine& a, const EntryLine& b) {
                return a.account < b.account;
              });
              std::sort(accounts.begin(), accounts.end());
              std::sort(deltas.begin(), deltas.end(),
                        [](const AccountDelta& a, const AccountDelta& b) {
                          return a.account < b.account;
                        });
              journal_id = InsertJournal(
                  tx, "ISSUANCE", absl::StrCat("application/", application_id), actor.username, "",
                  head->organization_id, 0, entries, application_id);
            }
            break;
          }
          case ApplicationEffect::kNone:
            break;
        }
        tx.exec_prepared(kAppendHistory.name, application_id,
                         domain::ApplicationStatusName(transition->to), journal_id,
                         domain::ApplicationActionName(action),
                         domain::ApplicationStatusName(head->status), actor.username,
                         actor.organization_id, actor.roles, comment);
        WriteEvent(tx,
                   domain::ApplicationTransitioned(application_id, action, head->organization_id),
                   actor.username, 0, journal_id, {head->organization_id}, 0, application_id);
        std::string response = RecordApplication(tx, keyed, application_id);
        if (!accounts.empty()) {
          LockAccounts(tx, accounts, /*create=*/true);
          ApplyToAccounts(tx, deltas);
        }
        tx.commit();
        return ApplicationOutcome{Kind::kDone, application_id, std::move(response)};
      });
}

}  // namespace zeva::db
