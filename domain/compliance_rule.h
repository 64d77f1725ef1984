#pragma once
// The annual compliance rule (docs/compliance.md): a supplier's size from the three preceding
// model years' LDV sales, its obligation from the model year's ratios, the order in which an
// assessment deducts the obligation and earlier deficits from available credits, the deficits
// that remain, and the penalty. Pure and exact: int64 hundredths of a credit, each amount
// rounded half up once, no floating point anywhere.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/credit_ledger.h"

namespace zeva::domain {

// Model years that have ratios (and so reports).
inline constexpr int kFirstReportYear = 2019;
inline constexpr int kLastReportYear = 2035;
// Bounds of a report's figures.
inline constexpr int64_t kMaxLdvSales = 1000000000;  // 10^9
inline constexpr size_t kMaxMakes = 50;
inline constexpr size_t kMaxMakeLength = 100;
// Size thresholds on the three preceding years' sum: below SMALL's is small; LARGE's or more
// is large; the rest medium.
inline constexpr int64_t kSmallBelow = 3000;
inline constexpr int64_t kLargeFrom = 15000;
// MEDIUM suppliers owe a class A part from this model year on (LARGE ones always).
inline constexpr int kMediumClassAFrom = 2026;
// Penalty per credit of deficit, in cents: $5,000 up to model year 2025, $20,000 after.
inline constexpr int64_t kPenaltyCentsPerCreditTo2025 = 500000;
inline constexpr int64_t kPenaltyCentsPerCreditFrom2026 = 2000000;

// Numbered as the wire enums (zeva.credits.v1.SupplierSize / ObligationPart).
enum class SupplierSize { kUnspecified = 0, kSmall = 1, kMedium = 2, kLarge = 3 };
enum class ObligationPart { kUnspecified = 0, kClassA = 1, kAnyClass = 2 };

// percent x 100: 26.3 % = 2630.
struct ComplianceRatio {
  int model_year = 0;
  int total_basis_points = 0;
  int class_a_basis_points = 0;
};

struct Obligation {
  SupplierSize size = SupplierSize::kUnspecified;
  int64_t size_basis = 0;
  ComplianceRatio ratio;
  int64_t total = 0;  // hundredths
  int64_t class_a = 0;
  int64_t any_class = 0;  // total - class_a
};

// A debit: an outstanding deficit, or a part of this report's obligation.
struct Deficit {
  int model_year = 0;
  ObligationPart part = ObligationPart::kUnspecified;
  int64_t amount = 0;  // hundredths, > 0
  friend bool operator==(const Deficit& a, const Deficit& b) {
    return a.model_year == b.model_year && a.part == b.part && a.amount == b.amount;
  }
};

struct Deduction {
  ObligationPart part = ObligationPart::kUnspecified;
  int debit_model_year = 0;
  CreditKey credit;
  int64_t amount = 0;  // hundredths, > 0
};

struct AssessmentOutcome {
  std::vector<Deduction> deductions;  // in the order applied
  std::vector<Deficit> deficits;      // outstanding after it, by model year, then part
  bool compliant = true;              // no deficit outstanding after it
  int64_t penalty_cents = 0;
};

SupplierSize SizeOf(int64_t size_basis);

// round(ldv_sales x basis_points / 10000) credits, in hundredths, half up.
int64_t ShareOf(int64_t ldv_sales, int basis_points);

// The obligation of `ldv_sales` (0..10^9) in `ratio.model_year` for a supplier whose three
// preceding years sold `size_basis`. SMALL: all three amounts 0.
Obligation ObligationOf(int64_t ldv_sales, int64_t size_basis, const ComplianceRatio& ratio);

// What an assessment posts: `available` (posted - reserved per key; keys <= 0 are not used)
// pays the outstanding deficits and the obligation in the contract's order; `any_class_first`
// (kA or kB) is the class that pays any-class debits first. `previous_in_deficit`: the
// supplier's assessed report of the previous model year ended with a deficit.
AssessmentOutcome Assess(const std::map<CreditKey, int64_t>& available,
                         const std::vector<Deficit>& outstanding, int model_year,
                         const Obligation& obligation, CreditClass any_class_first,
                         bool previous_in_deficit);

// The credits each key loses: the deductions summed per key (what the REDUCTION journal
// debits the supplier).
std::map<CreditKey, int64_t> DeductedPerKey(const std::vector<Deduction>& deductions);

// Penalty per credit (in cents) of a deficit of `model_year`.
int64_t PenaltyCentsPerCredit(int model_year);

// The ratios the contract seeds (model years 2019-2035), by model year: the reference the
// migration's table is tested against.
const std::vector<ComplianceRatio>& ContractRatios();

// ---- a report's inputs ----

// The supplier's figure for one of the three preceding years.
struct PreviousSalesInput {
  uint32_t model_year = 0;
  uint64_t ldv_sales = 0;
};

// Checks that need only the request (UpdateModelYearReport): `ldv_sales` and each previous
// figure 0..10^9, each previous year at most once, `makes` 0..50 distinct (as MakeKey
// compares them) of 1..100 characters each (cleaned), `any_class_first` UNSPECIFIED, A or B.
// INVALID_ARGUMENT naming the field; returns the cleaned makes.
absl::StatusOr<std::vector<std::string>> CheckReportInputs(
    uint64_t ldv_sales, const std::vector<PreviousSalesInput>& previous,
    const std::vector<std::string>& makes, int any_class_first);

// Checks against the stored report: previous years only the three before `model_year`, and
// none of the years in `recorded` (recorded by an assessed report). INVALID_ARGUMENT naming
// `previous_sales[i].model_year`.
absl::Status CheckPreviousYears(const std::vector<PreviousSalesInput>& previous, int model_year,
                                const std::map<int, int64_t>& recorded);

// One of the three preceding years as a report shows it.
struct PreviousSales {
  int model_year = 0;
  std::optional<int64_t> ldv_sales;  // nullopt: neither recorded nor entered
  bool recorded = false;
};
// The three years before `model_year`, oldest first: the recorded figure wins, else the one
// entered.
std::vector<PreviousSales> PreviousSalesOf(int model_year, const std::map<int, int64_t>& recorded,
                                           const std::map<int, int64_t>& entered);
// Their sum, or nullopt when a year has no figure.
std::optional<int64_t> SizeBasisOf(const std::vector<PreviousSales>& previous);

// A report's obligation from its inputs, or nullopt while a preceding year has no figure.
std::optional<Obligation> ReportObligation(int model_year, int64_t ldv_sales,
                                           const std::map<int, int64_t>& recorded,
                                           const std::map<int, int64_t>& entered,
                                           const ComplianceRatio& ratio);

// CreateModelYearReport's model year: 2019..2035 and not after `current_year` (the year in
// British Columbia). INVALID_ARGUMENT naming `model_year`.
absl::Status CheckReportYear(uint32_t model_year, int current_year);

}  // namespace zeva::domain
