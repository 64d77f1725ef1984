#include "db/compliance_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/event_writes.h"
#include "db/ledger_writes.h"
#include "db/paged_stream.h"
#include "domain/refusal.h"

namespace zeva::db {
namespace {

using domain::ReportEffect;
using Kind = ReportOutcome::Kind;

#define ZEVA_MICROS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

constexpr Statement kRatios{"compliance_ratios",
                            "SELECT model_year, total_basis_points, class_a_basis_points "
                            "FROM compliance_ratios ORDER BY model_year"};
// Reports whole, in one statement: the head, the ratio of its year, the previous years'
// figures (entered, and recorded by the supplier's assessed reports), the ZEV sales of its
// year from the supplier's applications, (when $2) its history, and its stored assessment.
constexpr Statement kReportsWhole{
    "compliance_report_whole",
    "SELECT r.id, r.organization_id, o.name, r.model_year, r.status::text, r.version, "
    "r.ldv_sales, array_to_json(r.makes)::text, coalesce(r.any_class_first::text, ''), "
    "r.attested, coalesce(r.journal_id, 0), " ZEVA_MICROS("r.created_at") ", " ZEVA_MICROS(
        "r.updated_at") ", c.total_basis_points, c.class_a_basis_points, "
                        "coalesce((SELECT json_agg(json_build_array(p.model_year, p.ldv_sales)) "
                        "FROM model_year_report_previous_sales p WHERE p.report_id = r.id), "
                        "'[]')::text, "
                        "coalesce((SELECT json_agg(json_build_array(s.model_year, s.ldv_sales)) "
                        "FROM compliance_recorded_sales s WHERE s.organization_id = "
                        "r.organization_id AND s.model_year BETWEEN r.model_year - 3 AND "
                        "r.model_year - 1), '[]')::text, "
                        "coalesce((SELECT json_agg(json_build_array(z.vehicle_id, v.make, "
                        "v.model, v.type, v.range, z.validated, z.pending) ORDER BY z.vehicle_id) "
                        "FROM (SELECT rec.vehicle_id, count(*) FILTER (WHERE a.status = "
                        "'VALIDATED' AND rec.included) AS validated, count(*) FILTER (WHERE "
                        "a.status IN ('SUBMITTED', 'CHECKED', 'RECOMMENDED_APPROVAL', "
                        "'RECOMMENDED_REJECTION')) AS pending FROM credit_applications a "
                        "JOIN credit_application_records rec ON rec.application_id = a.id "
                        "WHERE a.organization_id = r.organization_id AND rec.model_year = "
                        "r.model_year GROUP BY rec.vehicle_id) z JOIN vehicles v ON v.id = "
                        "z.vehicle_id WHERE z.validated + z.pending > 0), '[]')::text, "
                        "CASE WHEN $2 THEN coalesce((SELECT json_agg(json_build_array(h.seq, "
                        "coalesce(h.action::text, ''), coalesce(h.from_status::text, ''), "
                        "h.to_status::text, h.actor, h.actor_organization_id, h.comment, " ZEVA_MICROS(
                            "h.at") ") ORDER BY h.seq) FROM model_year_report_history h "
                                    "WHERE h.report_id = r.id), '[]') ELSE '[]' END::text, "
                                    "CASE WHEN s.report_id IS NULL THEN '' ELSE json_build_array(s.supplier_size, "
                                    "s.size_basis, "
                                    "s.total_basis_points, s.class_a_basis_points, s.total, "
                                    "s.class_a, s.any_class, s.compliant, s.penalty_cents, "
                                    "coalesce((SELECT json_agg(json_build_array(d.part::text, "
                                    "d.debit_model_year, d.credit_model_year, "
                                    "d.credit_class::text, d.amount) ORDER BY d.seq) FROM "
                                    "model_year_report_deductions d WHERE d.report_id = r.id), "
                                    "'[]'), coalesce((SELECT json_agg(json_build_array("
                                    "f.model_year, f.part::text, f.amount) ORDER BY "
                                    "f.model_year, f.part) FROM model_year_report_deficits f "
                                    "WHERE f.report_id = r.id), '[]'))::text END "
                                    "FROM model_year_reports r "
                                    "JOIN organizations o ON o.id = r.organization_id "
                                    "JOIN compliance_ratios c ON c.model_year = r.model_year "
                                    "LEFT JOIN model_year_report_assessments s "
                                    "ON s.report_id = r.id "
                                    "WHERE r.id = ANY($1::bigint[]) ORDER BY r.id"};
#undef ZEVA_MICROS

// The supplier's state an outcome is computed from.
constexpr Statement kAvailable{
    "compliance_available",
    "SELECT model_year, credit_class::text, posted - reserved FROM credit_accounts "
    "WHERE organization_id = $1 AND posted - reserved > 0 ORDER BY model_year, credit_class"};
constexpr Statement kDeficits{"compliance_deficits",
                              "SELECT d.model_year, d.part::text, d.amount FROM "
                              "compliance_deficits d WHERE d.organization_id = $1 "
                              "ORDER BY d.model_year, d.part"};
constexpr Statement kPreviousInDeficit{
    "compliance_previous_in_deficit",
    "SELECT NOT s.compliant FROM model_year_reports r JOIN model_year_report_assessments s "
    "ON s.report_id = r.id WHERE r.organization_id = $1 AND r.model_year = $2 "
    "AND r.status = 'ASSESSED'"};

constexpr Statement kListReportIds{
    "compliance_list_ids",
    "SELECT id FROM model_year_reports WHERE id > $1 AND ($2 = 0 OR organization_id = $2) "
    "AND (cardinality($3::model_year_report_status[]) = 0 "
    "OR status = ANY($3::model_year_report_status[])) AND ($4 = 0 OR model_year = $4) "
    "ORDER BY id LIMIT $5"};

// Creation: the supplier's organization row serialises its creations.
constexpr Statement kLockOrganization{
    "compliance_lock_organization", "SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE"};
constexpr Statement kSupplierReports{
    "compliance_supplier_reports",
    "SELECT status::text, model_year FROM model_year_reports WHERE organization_id = $1 "
    "AND status <> 'DELETED'"};
constexpr Statement kInsertReport{
    "compliance_insert_report",
    "WITH r AS (INSERT INTO model_year_reports (organization_id, model_year) VALUES ($1, $2) "
    "RETURNING id) INSERT INTO model_year_report_history (report_id, seq, to_status, actor, "
    "actor_organization_id, roles) SELECT r.id, 1, 'DRAFT', $3, $1, $4 FROM r "
    "RETURNING report_id"};
constexpr Statement kLockReport{
    "compliance_lock_report",
    "SELECT id, organization_id, model_year, status::text, version FROM model_year_reports "
    "WHERE id = $1 FOR UPDATE"};
constexpr Statement kRecordedSales{
    "compliance_recorded_sales",
    "SELECT model_year, ldv_sales FROM compliance_recorded_sales WHERE organization_id = $1 "
    "AND model_year BETWEEN $2 - 3 AND $2 - 1"};
// An update: version + 1, no history row. Makes as a JSON array of strings.
constexpr Statement kUpdateReport{
    "compliance_update_report",
    "UPDATE model_year_reports SET ldv_sales = $2, "
    "makes = ARRAY(SELECT json_array_elements_text($3::json)), "
    "any_class_first = NULLIF($4, '')::credit_class, attested = $5, version = version + 1, "
    "updated_at = now() WHERE id = $1"};
constexpr Statement kClearPreviousSales{
    "compliance_clear_previous_sales",
    "DELETE FROM model_year_report_previous_sales WHERE report_id = $1"};
constexpr Statement kInsertPreviousSales{
    "compliance_insert_previous_sales",
    "INSERT INTO model_year_report_previous_sales (report_id, model_year, ldv_sales) "
    "SELECT $1, * FROM unnest($2::smallint[], $3::bigint[])"};
// What SUBMIT and ASSESS need of the locked report.
constexpr Statement kReportInputs{
    "compliance_report_inputs",
    "SELECT r.ldv_sales, coalesce(r.any_class_first::text, ''), r.attested, "
    "c.total_basis_points, c.class_a_basis_points, "
    "coalesce((SELECT json_agg(json_build_array(p.model_year, p.ldv_sales)) "
    "FROM model_year_report_previous_sales p WHERE p.report_id = r.id), '[]')::text "
    "FROM model_year_reports r JOIN compliance_ratios c ON c.model_year = r.model_year "
    "WHERE r.id = $1"};
constexpr Statement kPendingApplications{
    "compliance_pending_applications",
    "SELECT a.id FROM credit_applications a WHERE a.organization_id = $1 AND a.status IN "
    "('SUBMITTED', 'CHECKED', 'RECOMMENDED_APPROVAL', 'RECOMMENDED_REJECTION') AND EXISTS "
    "(SELECT 1 FROM credit_application_records r WHERE r.application_id = a.id "
    "AND r.model_year = $2) ORDER BY a.id LIMIT 10"};
constexpr Statement kClearAttested{"compliance_clear_attested",
                                   "UPDATE model_year_reports SET attested = false WHERE id = $1"};
// ASSESS: the supplier's accounts (locked next, through ledger_writes), its deficits replaced,
// its sales recorded, the outcome stored.
constexpr Statement kAccountKeys{
    "compliance_account_keys",
    "SELECT model_year, credit_class::text FROM credit_accounts WHERE organization_id = $1 "
    "ORDER BY model_year, credit_class"};
constexpr Statement kClearDeficits{"compliance_clear_deficits",
                                   "DELETE FROM compliance_deficits WHERE organization_id = $1"};
constexpr Statement kInsertDeficits{
    "compliance_insert_deficits",
    "INSERT INTO compliance_deficits (organization_id, model_year, part, amount) "
    "SELECT $1, * FROM unnest($2::smallint[], $3::obligation_part[], $4::bigint[])"};
constexpr Statement kRecordSales{
    "compliance_record_sales",
    "INSERT INTO compliance_recorded_sales (organization_id, model_year, ldv_sales, report_id) "
    "VALUES ($1, $2, $3, $4)"};
constexpr Statement kStoreAssessment{
    "compliance_store_assessment",
    "INSERT INTO model_year_report_assessments (report_id, supplier_size, size_basis, "
    "total_basis_points, class_a_basis_points, total, class_a, any_class, compliant, "
    "penalty_cents) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"};
constexpr Statement kStoreDeductions{
    "compliance_store_deductions",
    "INSERT INTO model_year_report_deductions (report_id, seq, part, debit_model_year, "
    "credit_model_year, credit_class, amount) SELECT $1, * FROM unnest($2::integer[], "
    "$3::obligation_part[], $4::smallint[], $5::smallint[], $6::credit_class[], $7::bigint[])"};
constexpr Statement kStoreDeficits{
    "compliance_store_deficits",
    "INSERT INTO model_year_report_deficits (report_id, model_year, part, amount) "
    "SELECT $1, * FROM unnest($2::smallint[], $3::obligation_part[], $4::bigint[])"};
// The status change and its history row in one round trip (seq: the report's next).
constexpr Statement kAppendHistory{
    "compliance_append_history",
    "WITH s AS (UPDATE model_year_reports SET status = $2::model_year_report_status, "
    "version = version + 1, journal_id = NULLIF($3::bigint, 0), updated_at = now() "
    "WHERE id = $1) "
    "INSERT INTO model_year_report_history (report_id, seq, action, from_status, to_status, "
    "actor, actor_organization_id, roles, comment) "
    "SELECT $1::bigint, coalesce(max(seq), 0) + 1, $4::model_year_report_action, "
    "$5::model_year_report_status, $2::model_year_report_status, $6::varchar, $7::bigint, "
    "$8::varchar, $9::text FROM model_year_report_history WHERE report_id = $1::bigint"};

const char* PartName(domain::ObligationPart part) {
  return part == domain::ObligationPart::kClassA ? "CLASS_A" : "ANY_CLASS";
}
domain::ObligationPart PartNamed(const std::string& name) {
  if (name == "CLASS_A") return domain::ObligationPart::kClassA;
  if (name == "ANY_CLASS") return domain::ObligationPart::kAnyClass;
  return domain::ObligationPart::kUnspecified;
}

domain::CreditClass FirstClassNamed(const std::string& name) {
  return name.empty() ? domain::CreditClass::kC : domain::ClassNamed(name);
}

std::map<int, int64_t> YearFigures(const std::string& json) {
  std::map<int, int64_t> out;
  for (const auto& p : nlohmann::json::parse(json)) out[p[0].get<int>()] = p[1].get<int64_t>();
  return out;
}

std::map<int, int64_t> RecordedSales(pqxx::transaction_base& tx, int64_t organization_id,
                                     int model_year) {
  std::map<int, int64_t> out;
  for (const pqxx::row& row : tx.exec_prepared(kRecordedSales.name, organization_id, model_year)) {
    out[row[0].as<int>()] = row[1].as<int64_t>();
  }
  return out;
}

std::vector<domain::Deficit> DeficitsOf(pqxx::transaction_base& tx, int64_t organization_id) {
  std::vector<domain::Deficit> out;
  for (const pqxx::row& row : tx.exec_prepared(kDeficits.name, organization_id)) {
    out.push_back(domain::Deficit{row[0].as<int>(), PartNamed(row[1].as<std::string>()),
                                  row[2].as<int64_t>()});
  }
  return out;
}

bool PreviousInDeficit(pqxx::transaction_base& tx, int64_t organization_id, int model_year) {
  const pqxx::result rows =
      tx.exec_prepared(kPreviousInDeficit.name, organization_id, model_year - 1);
  return !rows.empty() && rows[0][0].as<bool>();
}

ComplianceState StateOf(pqxx::transaction_base& tx, int64_t organization_id, int model_year) {
  ComplianceState state;
  for (const pqxx::row& row : tx.exec_prepared(kAvailable.name, organization_id)) {
    state.available[domain::CreditKey{
        row[0].as<int32_t>(), domain::ClassNamed(row[1].as<std::string>())}] = row[2].as<int64_t>();
  }
  state.deficits = DeficitsOf(tx, organization_id);
  state.previous_in_deficit = PreviousInDeficit(tx, organization_id, model_year);
  return state;
}

StoredAssessment AssessmentOf(const nlohmann::json& a) {
  StoredAssessment s;
  domain::Obligation& o = s.obligation;
  o.size = static_cast<domain::SupplierSize>(a[0].get<int>());
  o.size_basis = a[1].get<int64_t>();
  o.ratio.total_basis_points = a[2].get<int>();
  o.ratio.class_a_basis_points = a[3].get<int>();
  o.total = a[4].get<int64_t>();
  o.class_a = a[5].get<int64_t>();
  o.any_class = a[6].get<int64_t>();
  s.outcome.compliant = a[7].get<bool>();
  s.outcome.penalty_cents = a[8].get<int64_t>();
  for (const auto& d : a[9]) {
    s.outcome.deductions.push_back(domain::Deduction{
        PartNamed(d[0].get<std::string>()), d[1].get<int>(),
        domain::CreditKey{d[2].get<int32_t>(), domain::ClassNamed(d[3].get<std::string>())},
        d[4].get<int64_t>()});
  }
  for (const auto& f : a[10]) {
    s.outcome.deficits.push_back(
        domain::Deficit{f[0].get<int>(), PartNamed(f[1].get<std::string>()), f[2].get<int64_t>()});
  }
  return s;
}

// The reports with their state, read in `tx` (one snapshot).
std::vector<ReportRecord> LoadReports(pqxx::transaction_base& tx,
                                      const std::vector<std::string>& ids, bool history) {
  std::vector<ReportRecord> out;
  for (const pqxx::row& row : tx.exec_prepared(kReportsWhole.name, ArrayLiteral(ids), history)) {
    ReportRecord r;
    r.id = row[0].as<int64_t>();
    r.organization_id = row[1].as<int64_t>();
    r.organization_name = row[2].as<std::string>();
    r.model_year = row[3].as<int>();
    r.status = domain::ReportStatusNamed(row[4].as<std::string>());
    r.version = row[5].as<int>();
    r.ldv_sales = row[6].as<int64_t>();
    for (const auto& m : nlohmann::json::parse(row[7].as<std::string>())) {
      r.makes.push_back(m.get<std::string>());
    }
    r.any_class_first = FirstClassNamed(row[8].as<std::string>());
    r.attested = row[9].as<bool>();
    r.journal_id = row[10].as<int64_t>();
    r.created_micros = row[11].as<int64_t>();
    r.updated_micros = row[12].as<int64_t>();
    r.ratio = domain::ComplianceRatio{r.model_year, row[13].as<int>(), row[14].as<int>()};
    r.entered_sales = YearFigures(row[15].as<std::string>());
    r.recorded_sales = YearFigures(row[16].as<std::string>());
    for (const auto& z : nlohmann::json::parse(row[17].as<std::string>())) {
      r.zev_sales.push_back(ZevSalesRow{
          z[0].get<int64_t>(), z[1].get<std::string>(), z[2].get<std::string>(),
          z[3].get<std::string>(), z[4].get<uint32_t>(), z[5].get<int64_t>(), z[6].get<int64_t>()});
    }
    for (const auto& h : nlohmann::json::parse(row[18].as<std::string>())) {
      ReportEventRecord e;
      e.seq = h[0].get<int>();
      e.action = h[1].get<std::string>();
      e.from_status = h[2].get<std::string>();
      e.to_status = h[3].get<std::string>();
      e.actor = h[4].get<std::string>();
      e.actor_organization_id = h[5].get<int64_t>();
      e.comment = h[6].get<std::string>();
      e.at_micros = h[7].get<int64_t>();
      r.history.push_back(std::move(e));
    }
    const std::string assessment = row[19].as<std::string>();
    if (!assessment.empty()) {
      r.assessment = AssessmentOf(nlohmann::json::parse(assessment));
      r.assessment->obligation.ratio.model_year = r.model_year;
    }
    out.push_back(std::move(r));
  }
  for (ReportRecord& r : out) r.state = StateOf(tx, r.organization_id, r.model_year);
  return out;
}

// Gives the claimed key the changed report and its response.
std::string RecordReport(pqxx::transaction_base& tx, const KeyedChange<ReportRecord>& keyed,
                         int64_t report_id) {
  return RecordResult(tx, keyed, report_id,
                      LoadReports(tx, {std::to_string(report_id)}, true).front());
}

std::optional<ReportHead> LockReport(pqxx::transaction_base& tx, int64_t report_id) {
  const pqxx::result rows = tx.exec_prepared(kLockReport.name, report_id);
  if (rows.empty()) return std::nullopt;
  return ReportHead{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(), rows[0][2].as<int>(),
                    domain::ReportStatusNamed(rows[0][3].as<std::string>()), rows[0][4].as<int>()};
}

struct LockedInputs {
  int64_t ldv_sales = 0;
  domain::CreditClass any_class_first = domain::CreditClass::kC;
  bool attested = false;
  domain::ComplianceRatio ratio;
  std::map<int, int64_t> entered;
  std::map<int, int64_t> recorded;
};

LockedInputs InputsOf(pqxx::transaction_base& tx, const ReportHead& head) {
  const pqxx::row row = tx.exec_prepared1(kReportInputs.name, head.id);
  LockedInputs in;
  in.ldv_sales = row[0].as<int64_t>();
  in.any_class_first = FirstClassNamed(row[1].as<std::string>());
  in.attested = row[2].as<bool>();
  in.ratio = domain::ComplianceRatio{head.model_year, row[3].as<int>(), row[4].as<int>()};
  in.entered = YearFigures(row[5].as<std::string>());
  in.recorded = RecordedSales(tx, head.organization_id, head.model_year);
  return in;
}

absl::Status CheckSubmit(const LockedInputs& in, int model_year) {
  std::vector<std::string> missing;
  for (const domain::PreviousSales& p :
       domain::PreviousSalesOf(model_year, in.recorded, in.entered)) {
    if (!p.ldv_sales) missing.push_back(std::to_string(p.model_year));
  }
  if (!missing.empty()) {
    return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                           absl::StrCat("the LDV sales of ", absl::StrJoin(missing, ", "),
                                        " are missing; enter them before submitting"),
                           domain::kReasonMissingPreviousSales, "previous_sales");
  }
  if (!in.attested) {
    return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                           "the signing authority must attest the report before submitting it",
                           domain::kReasonNotAttested, "attested");
  }
  return absl::OkStatus();
}

// ASSESS under the report's lock: the supplier's accounts locked in the global order, the
// outcome computed from them, and everything it changes. Returns the journal id (0: none).
absl::StatusOr<int64_t> Assess(pqxx::transaction_base& tx, const Actor& actor,
                               const ReportHead& head) {
  const LockedInputs in = InputsOf(tx, head);
  const std::optional<domain::Obligation> obligation =
      domain::ReportObligation(head.model_year, in.ldv_sales, in.recorded, in.entered, in.ratio);
  if (!obligation) {  // SUBMIT checked it; a recorded year cannot disappear
    return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                           "the previous years' LDV sales are incomplete",
                           domain::kReasonMissingPreviousSales, "previous_sales");
  }
  std::vector<AccountKey> accounts;
  for (const pqxx::row& row : tx.exec_prepared(kAccountKeys.name, head.organization_id)) {
    accounts.push_back(AccountKey{
        head.organization_id,
        domain::CreditKey{row[0].as<int32_t>(), domain::ClassNamed(row[1].as<std::string>())}});
  }
  std::map<domain::CreditKey, int64_t> available;
  for (const AccountRow& row : LockAccounts(tx, accounts, /*create=*/false)) {
    available[row.account.key] = row.posted - row.reserved;
  }
  const std::vector<domain::Deficit> outstanding = DeficitsOf(tx, head.organization_id);
  const domain::AssessmentOutcome outcome =
      domain::Assess(available, outstanding, head.model_year, *obligation, in.any_class_first,
                     PreviousInDeficit(tx, head.organization_id, head.model_year));

  int64_t journal_id = 0;
  const std::map<domain::CreditKey, int64_t> deducted = domain::DeductedPerKey(outcome.deductions);
  if (!deducted.empty()) {
    std::vector<EntryLine> entries;
    std::vector<AccountDelta> deltas;
    for (const auto& [key, amount] : deducted) {
      const AccountKey supplier{head.organization_id, key};
      entries.push_back(EntryLine{supplier, -amount});
      entries.push_back(EntryLine{AccountKey{actor.organization_id, key}, amount});
      deltas.push_back(AccountDelta{supplier, -amount, 0});
    }
    std::sort(entries.begin(), entries.end(),
              [](const EntryLine& a, const EntryLine& b) { return a.account < b.account; });
    journal_id = InsertJournal(tx, "REDUCTION", absl::StrCat("model-year-report/", head.id),
                               actor.username, "", 0, 0, entries, 0, head.id);
    ApplyToAccounts(tx, deltas);
  }

  std::vector<std::string> years, parts, amounts;
  for (const domain::Deficit& d : outcome.deficits) {
    years.push_back(std::to_string(d.model_year));
    parts.push_back(PartName(d.part));
    amounts.push_back(std::to_string(d.amount));
  }
  tx.exec_prepared(kClearDeficits.name, head.organization_id);
  tx.exec_prepared(kInsertDeficits.name, head.organization_id, ArrayLiteral(years),
                   ArrayLiteral(parts), ArrayLiteral(amounts));
  tx.exec_prepared(kRecordSales.name, head.organization_id, head.model_year, in.ldv_sales, head.id);
  tx.exec_prepared(kStoreAssessment.name, head.id, static_cast<int>(obligation->size),
                   obligation->size_basis, in.ratio.total_basis_points,
                   in.ratio.class_a_basis_points, obligation->total, obligation->class_a,
                   obligation->any_class, outcome.compliant, outcome.penalty_cents);
  std::vector<std::string> seqs, d_parts, debit_years, credit_years, classes, d_amounts;
  for (size_t i = 0; i < outcome.deductions.size(); ++i) {
    const domain::Deduction& d = outcome.deductions[i];
    seqs.push_back(std::to_string(i + 1));
    d_parts.push_back(PartName(d.part));
    debit_years.push_back(std::to_string(d.debit_model_year));
    credit_years.push_back(std::to_string(d.credit.model_year));
    classes.push_back(domain::ClassName(d.credit.credit_class));
    d_amounts.push_back(std::to_string(d.amount));
  }
  tx.exec_prepared(kStoreDeductions.name, head.id, ArrayLiteral(seqs), ArrayLiteral(d_parts),
                   ArrayLiteral(debit_years), ArrayLiteral(credit_years), ArrayLiteral(classes),
                   ArrayLiteral(d_amounts));
  tx.exec_prepared(kStoreDeficits.name, head.id, ArrayLiteral(years), ArrayLiteral(parts),
                   ArrayLiteral(amounts));
  return journal_id;
}

}  // namespace

const std::vector<Statement>& ComplianceStore::Statements() {
  static const std::vector<Statement> statements{kRatios,
                                                 kReportsWhole,
                                                 kAvailable,
                                                 kDeficits,
                                                 kPreviousInDeficit,
                                                 kListReportIds,
                                                 kLockOrganization,
                                                 kSupplierReports,
                                                 kInsertReport,
                                                 kLockReport,
                                                 kRecordedSales,
                                                 kUpdateReport,
                                                 kClearPreviousSales,
                                                 kInsertPreviousSales,
                                                 kReportInputs,
                                                 kPendingApplications,
                                                 kClearAttested,
                                                 kAccountKeys,
                                                 kClearDeficits,
                                                 kInsertDeficits,
                                                 kRecordSales,
                                                 kStoreAssessment,
                                                 kStoreDeductions,
                                                 kStoreDeficits,
                                                 kAppendHistory};
  return statements;
}

absl::StatusOr<std::vector<domain::ComplianceRatio>> ComplianceStore::Ratios(const Budget& budget) {
  return pool_.Run<std::vector<domain::ComplianceRatio>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<domain::ComplianceRatio>> {
        pqxx::nontransaction tx(c);
        std::vector<domain::ComplianceRatio> out;
        for (const pqxx::row& row : tx.exec_prepared(kRatios.name)) {
          out.push_back(
              domain::ComplianceRatio{row[0].as<int>(), row[1].as<int>(), row[2].as<int>()});
        }
        return out;
      });
}

absl::StatusOr<std::optional<ReportRecord>> ComplianceStore::Get(int64_t report_id,
                                                                 const Budget& budget) {
  return pool_.Run<std::optional<ReportRecord>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::optional<ReportRecord>> {
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
        std::vector<ReportRecord> found = LoadReports(tx, {std::to_string(report_id)}, true);
        tx.commit();
        if (found.empty()) return std::nullopt;
        return std::move(found.front());
      });
}

absl::Status ComplianceStore::List(const ReportFilter& filter,
                                   const std::function<bool(const ReportRecord&)>& visible,
                                   const Budget& budget, const RowSink<ReportRecord>& sink) {
  const std::string statuses = ArrayLiteral(filter.statuses);
  return ListInPages<ReportRecord>(
      pool_, budget, filter.after_id, filter.limit,
      [&](pqxx::transaction_base& tx, int64_t after_id) {
        std::vector<std::string> ids;
        for (const pqxx::row& row :
             tx.exec_prepared(kListReportIds.name, after_id, filter.organization_id.value_or(0),
                              statuses, filter.model_year, kListPageSize)) {
          ids.push_back(row[0].as<std::string>());
        }
        return ids;
      },
      [&](pqxx::transaction_base& tx, const std::vector<std::string>& ids) {
        return LoadReports(tx, ids, false);
      },
      visible, sink);
}

absl::StatusOr<std::vector<domain::Deficit>> ComplianceStore::Deficits(int64_t organization_id,
                                                                       const Budget& budget) {
  return pool_.Run<std::vector<domain::Deficit>>(
      budget, [&](pqxx::connection& c) -> absl::StatusOr<std::vector<domain::Deficit>> {
        pqxx::nontransaction tx(c);
        return DeficitsOf(tx, organization_id);
      });
}

absl::StatusOr<ReportOutcome> ComplianceStore::Create(const KeyedChange<ReportRecord>& keyed,
                                                      const Actor& actor, int model_year,
                                                      const Budget& budget) {
  return RunWithRetries<ReportOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<ReportOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &ReportOutcome::report_id))
          return *earlier;
        tx.exec_prepared(kLockOrganization.name, actor.organization_id);
        bool open = false;
        bool exists = false;
        for (const pqxx::row& row :
             tx.exec_prepared(kSupplierReports.name, actor.organization_id)) {
          const domain::ReportStatus status = domain::ReportStatusNamed(row[0].as<std::string>());
          if (status != domain::ReportStatus::kAssessed) open = true;
          if (row[1].as<int>() == model_year ||
              (status == domain::ReportStatus::kAssessed && row[1].as<int>() > model_year)) {
            exists = true;
          }
        }
        if (open) {
          return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                                 "another model year report of this supplier is still open; "
                                 "it must be assessed or deleted first",
                                 domain::kReasonPreviousReportOpen);
        }
        if (exists) {
          return domain::Refusal(absl::StatusCode::kFailedPrecondition,
                                 absl::StrCat("this supplier already has a report for ", model_year,
                                              " or an assessed report of a later model year"),
                                 domain::kReasonReportExists, "model_year");
        }
        const int64_t id = tx.exec_prepared1(kInsertReport.name, actor.organization_id, model_year,
                                             actor.username, actor.roles)[0]
                               .as<int64_t>();
        WriteEvent(tx, domain::ReportCreated(id), actor.username, 0, 0, {actor.organization_id}, 0,
                   0, id);
        std::string response = RecordReport(tx, keyed, id);
        tx.commit();
        return ReportOutcome{Kind::kDone, id, std::move(response)};
      });
}

absl::StatusOr<ReportOutcome> ComplianceStore::Update(const KeyedChange<ReportRecord>& keyed,
                                                      const Actor& actor, int64_t report_id,
                                                      const ReportInputs& inputs,
                                                      const ReportRules& rules,
                                                      const Budget& budget) {
  std::vector<std::string> years, sales;
  for (const domain::PreviousSalesInput& p : inputs.previous_sales) {
    years.push_back(std::to_string(p.model_year));
    sales.push_back(std::to_string(p.ldv_sales));
  }
  const std::string makes = nlohmann::json(inputs.makes).dump();
  return RunWithRetries<ReportOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<ReportOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &ReportOutcome::report_id))
          return *earlier;
        const std::optional<ReportHead> head = LockReport(tx, report_id);
        if (!head) return ReportOutcome{Kind::kNotFound, 0, std::nullopt};
        if (absl::Status s = rules.access(*head); !s.ok()) return s;
        if (absl::Status s = domain::CheckPreviousYears(
                inputs.previous_sales, head->model_year,
                RecordedSales(tx, head->organization_id, head->model_year));
            !s.ok()) {
          return s;
        }
        if (absl::Status s = rules.state(*head); !s.ok()) return s;
        tx.exec_prepared(kUpdateReport.name, report_id, inputs.ldv_sales, makes,
                         inputs.any_class_first, inputs.attested);
        tx.exec_prepared(kClearPreviousSales.name, report_id);
        tx.exec_prepared(kInsertPreviousSales.name, report_id, ArrayLiteral(years),
                         ArrayLiteral(sales));
        WriteEvent(tx, domain::ReportUpdated(report_id), actor.username, 0, 0,
                   {head->organization_id}, 0, 0, report_id);
        std::string response = RecordReport(tx, keyed, report_id);
        tx.commit();
        return ReportOutcome{Kind::kDone, report_id, std::move(response)};
      });
}

absl::StatusOr<ReportOutcome> ComplianceStore::Transition(const KeyedChange<ReportRecord>& keyed,
                                                          const Actor& actor, int64_t report_id,
                                                          domain::ReportAction action,
                                                          const std::string& comment,
                                                          const ReportTransitionRule& rule,
                                                          const Budget& budget) {
  return RunWithRetries<ReportOutcome>(
      pool_, budget, [&](pqxx::connection& c) -> absl::StatusOr<ReportOutcome> {
        pqxx::work tx(c);
        if (auto earlier = ClaimOrEarlier(tx, keyed.claim, &ReportOutcome::report_id))
          return *earlier;
        const std::optional<ReportHead> head = LockReport(tx, report_id);
        if (!head) return ReportOutcome{Kind::kNotFound, 0, std::nullopt};
        auto transition = rule(*head);
        if (!transition.ok()) return transition.status();

        int64_t journal_id = 0;
        switch (transition->effect) {
          case ReportEffect::kSubmit:
            if (absl::Status s = CheckSubmit(InputsOf(tx, *head), head->model_year); !s.ok()) {
              return s;
            }
            break;
          case ReportEffect::kRecommend: {
            std::vector<std::string> pending;
            for (const pqxx::row& row : tx.exec_prepared(kPendingApplications.name,
                                                         head->organization_id, head->model_year)) {
              pending.push_back(row[0].as<std::string>());
            }
            if (!pending.empty()) {
              return domain::WithMetadata(
                  domain::Refusal(
                      absl::StatusCode::kFailedPrecondition,
                      absl::StrCat("credit applications with records of ", head->model_year,
                                   " are still pending: ", absl::StrJoin(pending, ","),
                                   "; they must be validated or rejected first"),
                      domain::kReasonPendingApplications),
                  "application_ids", absl::StrJoin(pending, ","));
            }
            break;
          }
          case ReportEffect::kClearAttested:  // after the status change (a CHECK needs it)
            break;
          case ReportEffect::kAssess: {
            auto posted = Assess(tx, actor, *head);
            if (!posted.ok()) return posted.status();
            journal_id = *posted;
            break;
          }
          case ReportEffect::kNone:
            break;
        }
        tx.exec_prepared(kAppendHistory.name, report_id, domain::ReportStatusName(transition->to),
                         journal_id, domain::ReportActionName(action),
                         domain::ReportStatusName(head->status), actor.username,
                         actor.organization_id, actor.roles, comment);
        if (transition->effect == ReportEffect::kClearAttested) {
          tx.exec_prepared(kClearAttested.name, report_id);
        }
        WriteEvent(tx, domain::ReportTransitioned(report_id, action, head->organization_id),
                   actor.username, 0, journal_id, {head->organization_id}, 0, 0, report_id);
        std::string response = RecordReport(tx, keyed, report_id);
        tx.commit();
        return ReportOutcome{Kind::kDone, report_id, std::move(response)};
      });
}

}  // namespace zeva::db
