#include "domain/sales_records.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "domain/credit_ledger.h"
#include "domain/refusal.h"
#include "domain/text.h"
#include "domain/vin.h"

namespace zeva::domain {
namespace {

std::string At(const char* list, size_t i, const char* field) {
  return absl::StrCat(list, "[", i, "].", field);
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

}  // namespace

bool IsValidDate(const Date& date) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (date.year < 1 || date.year > 9999 || date.month < 1 || date.month > 12 || date.day < 1) {
    return false;
  }
  const int days = kDays[date.month - 1] + (date.month == 2 && IsLeapYear(date.year) ? 1 : 0);
  return date.day <= days;
}

std::string DateText(const Date& date) {
  return absl::StrFormat("%04d-%02d-%02d", date.year, date.month, date.day);
}

absl::StatusOr<std::vector<NewRecord>> CheckNewRecords(const std::vector<NewRecordInput>& records,
                                                       const Date& today) {
  if (records.empty() || records.size() > kMaxRecordsPerCall) {
    return InvalidField("records", absl::StrCat("must hold 1 to ", kMaxRecordsPerCall, " records"));
  }
  std::vector<NewRecord> out;
  out.reserve(records.size());
  std::set<std::string> vins;
  for (size_t i = 0; i < records.size(); ++i) {
    const NewRecordInput& in = records[i];
    NewRecord record;
    record.vin = NormalizeVin(in.vin);
    if (!IsValidVin(record.vin)) {
      return InvalidField(At("records", i, "vin"),
                          "must be 17 characters of A-H, J-N, P, R-Z and 0-9");
    }
    if (!vins.insert(record.vin).second) {
      return Refusal(absl::StatusCode::kInvalidArgument,
                     absl::StrCat(At("records", i, "vin"), " repeats ", record.vin,
                                  "; a VIN may appear once per application"),
                     kReasonDuplicateVin, At("records", i, "vin"));
    }
    if (in.vehicle_id == 0 || in.vehicle_id > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidField(At("records", i, "vehicle_id"), "must name a vehicle model");
    }
    if (in.model_year < kFirstModelYear || static_cast<int>(in.model_year) > today.year + 1) {
      return InvalidField(
          At("records", i, "model_year"),
          absl::StrCat("must be a model year from ", kFirstModelYear, " to ", today.year + 1));
    }
    if (!IsValidDate(in.sale_date)) {
      return InvalidField(At("records", i, "sale_date"), "must be a valid date");
    }
    if (today < in.sale_date) {
      return InvalidField(At("records", i, "sale_date"),
                          absl::StrCat("must not be after today (", DateText(today), ")"));
    }
    record.vehicle_id = static_cast<int64_t>(in.vehicle_id);
    record.model_year = static_cast<int32_t>(in.model_year);
    record.sale_date = in.sale_date;
    record.check_digit_ok = HasVinCheckDigit(record.vin);
    out.push_back(std::move(record));
  }
  return out;
}

absl::Status CheckRecordVehicles(const std::vector<NewRecord>& records,
                                 const std::map<int64_t, RecordVehicle>& vehicles,
                                 int64_t organization_id) {
  for (size_t i = 0; i < records.size(); ++i) {
    const auto found = vehicles.find(records[i].vehicle_id);
    if (found == vehicles.end() || found->second.organization_id != organization_id) {
      return InvalidField(At("records", i, "vehicle_id"),
                          "names no vehicle model of your organization");
    }
    if (ClassOf(found->second.type, found->second.range_km) == CreditClass::kC) {
      return InvalidField(At("records", i, "vehicle_id"),
                          absl::StrCat("names a model that earns no credits under ZEVA's rule (",
                                       found->second.type, ", ", found->second.range_km, " km)"));
    }
  }
  return absl::OkStatus();
}

std::string MakeKey(const std::string& make) {
  std::string key;
  key.reserve(make.size());
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(make)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space) key.push_back(' ');
    space = false;
    key.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  return key;
}

absl::StatusOr<std::vector<Decision>> CheckDecisions(const std::vector<DecisionInput>& decisions) {
  if (decisions.empty() || decisions.size() > kMaxRecordsPerCall) {
    return InvalidField("decisions",
                        absl::StrCat("must hold 1 to ", kMaxRecordsPerCall, " decisions"));
  }
  std::vector<Decision> out;
  out.reserve(decisions.size());
  std::set<uint64_t> ids;
  for (size_t i = 0; i < decisions.size(); ++i) {
    const DecisionInput& in = decisions[i];
    if (in.record_id == 0 || in.record_id > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidField(At("decisions", i, "record_id"), "must name a record");
    }
    if (!ids.insert(in.record_id).second) {
      return InvalidField(At("decisions", i, "record_id"), "names a record decided twice");
    }
    Decision decision{static_cast<int64_t>(in.record_id), in.included, ""};
    if (!absl::StripAsciiWhitespace(in.reason).empty()) {
      auto reason = CleanText(At("decisions", i, "reason"), in.reason, kMaxDecisionReasonLength,
                              /*multiline=*/true);
      if (!reason.ok()) return reason.status();
      decision.reason = *std::move(reason);
    }
    out.push_back(std::move(decision));
  }
  return out;
}

absl::Status CheckDecisionRules(const std::vector<Decision>& decisions,
                                const std::map<int64_t, DecidedRecord>& records) {
  for (size_t i = 0; i < decisions.size(); ++i) {
    const Decision& d = decisions[i];
    if (!d.included) continue;
    const DecidedRecord& record = records.at(d.record_id);
    if (record.vin_awarded) {
      return Refusal(absl::StatusCode::kFailedPrecondition,
                     absl::StrCat("record ", d.record_id,
                                  " names a VIN that has already earned credits; it can never "
                                  "be included"),
                     kReasonVinAlreadyAwarded, At("decisions", i, "included"));
    }
    if (record.has_warnings && d.reason.empty()) {
      return InvalidField(At("decisions", i, "reason"),
                          "must say why a record with warnings is included (1 to 500 characters)");
    }
  }
  return absl::OkStatus();
}

}  // namespace zeva::domain
