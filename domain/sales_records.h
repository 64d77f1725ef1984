#pragma once
// The rules of a credit application's sales records that need no database
// (docs/applications.md, "Records", "Warnings", "Decisions"): what a record must hold, the
// warnings that need no registration data, how makes are compared, and what a decision needs.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/credit_rule.h"

namespace zeva::domain {

inline constexpr char kReasonDuplicateVin[] = "DUPLICATE_VIN";
inline constexpr char kReasonVinAlreadyAwarded[] = "VIN_ALREADY_AWARDED";
inline constexpr char kReasonNoRecords[] = "NO_RECORDS";
inline constexpr char kReasonTooManyRecords[] = "TOO_MANY_RECORDS";
inline constexpr size_t kMaxRecordsPerCall = 1000;
inline constexpr int64_t kMaxRecordsPerApplication = 100000;
inline constexpr size_t kMaxDecisionReasonLength = 500;

// Numbered as the wire enum zeva.credits.v1.RecordWarning (and so in enum order).
enum class RecordWarning {
  kNoIcbcMatch = 1,
  kMakeMismatch = 2,
  kModelYearMismatch = 3,
  kVinAlreadyAwarded = 4,
  kVinInOtherApplication = 5,
  kSaleBeforeProgram = 6,
  kVinCheckDigit = 7,
};

// A calendar date (google.type.Date without its partial forms).
struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  friend bool operator<(const Date& a, const Date& b) {
    return a.year != b.year     ? a.year < b.year
           : a.month != b.month ? a.month < b.month
                                : a.day < b.day;
  }
  friend bool operator==(const Date& a, const Date& b) {
    return a.year == b.year && a.month == b.month && a.day == b.day;
  }
};
// A full, real date of the Gregorian calendar (year 1..9999; no zero month or day).
bool IsValidDate(const Date& date);
// "2021-03-04", as PostgreSQL's date takes and gives it.
std::string DateText(const Date& date);

// The first day of ZEVA's program: a sale before it earns a SALE_BEFORE_PROGRAM warning.
inline constexpr Date kProgramStart{2018, 1, 2};

struct NewRecordInput {
  std::string vin;
  uint64_t vehicle_id = 0;
  uint32_t model_year = 0;
  Date sale_date;
};
struct NewRecord {
  std::string vin;  // normalized: trimmed, upper-cased
  int64_t vehicle_id = 0;
  int32_t model_year = 0;
  Date sale_date;
  bool check_digit_ok = false;  // position 9 is the VIN's check digit
};

// A batch of 1..1000 records, each on its own: the VIN 17 characters of the VIN alphabet,
// a vehicle id, the model year 2019..next year, the sale date valid and not after `today`,
// no VIN twice in the batch (DUPLICATE_VIN). The first bad record refuses the batch,
// INVALID_ARGUMENT naming `records[i].field`.
absl::StatusOr<std::vector<NewRecord>> CheckNewRecords(const std::vector<NewRecordInput>& records,
                                                       const Date& today);

// A vehicle model as stored, for the checks that need it.
struct RecordVehicle {
  int64_t organization_id = 0;
  std::string type;
  uint32_t range_km = 0;
};
// Each record's vehicle must be a model of `organization_id` that earns credits (class A or
// B under the current rule): else INVALID_ARGUMENT `records[i].vehicle_id`.
absl::Status CheckRecordVehicles(const std::vector<NewRecord>& records,
                                 const std::map<int64_t, RecordVehicle>& vehicles,
                                 int64_t organization_id);

// A make as CHECK compares it: trimmed, inner runs of white space collapsed to one space,
// upper-cased ("  Tesla   motors " -> "TESLA MOTORS").
std::string MakeKey(const std::string& make);

struct DecisionInput {
  uint64_t record_id = 0;
  bool included = false;
  std::string reason;
};
struct Decision {
  int64_t record_id = 0;
  bool included = false;
  std::string reason;  // cleaned; may be empty
};
// 1..1000 decisions, each naming a record once, reasons at most 500 code points.
absl::StatusOr<std::vector<Decision>> CheckDecisions(const std::vector<DecisionInput>& decisions);

// A record as stored, for the decision rules.
struct DecidedRecord {
  bool has_warnings = false;
  bool vin_awarded = false;  // now, whatever the last CHECK said
};
// Including a record with warnings needs a reason (INVALID_ARGUMENT `decisions[i].reason`);
// a record whose VIN is awarded can never be included (FAILED_PRECONDITION
// VIN_ALREADY_AWARDED). `records` holds every decided record by id.
absl::Status CheckDecisionRules(const std::vector<Decision>& decisions,
                                const std::map<int64_t, DecidedRecord>& records);

}  // namespace zeva::domain
