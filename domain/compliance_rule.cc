#include "domain/compliance_rule.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "domain/sales_records.h"
#include "domain/text.h"

namespace zeva::domain {
namespace {

// A debit being paid: what is left of it.
struct OpenDebit {
  int model_year = 0;
  ObligationPart part = ObligationPart::kUnspecified;
  int64_t left = 0;
};

// Pays `debit` from the keys of `credit_class` in `balances`, oldest model year first.
void PayFrom(OpenDebit& debit, CreditClass credit_class, std::map<CreditKey, int64_t>& balances,
             std::vector<Deduction>& deductions) {
  for (auto& [key, balance] : balances) {  // ordered by model year, then class
    if (debit.left == 0) return;
    if (key.credit_class != credit_class || balance <= 0) continue;
    const int64_t taken = std::min(balance, debit.left);
    balance -= taken;
    debit.left -= taken;
    deductions.push_back(Deduction{debit.part, debit.model_year, key, taken});
  }
}

// The debits of one part, oldest first: the outstanding deficits by model year, then this
// report's amount.
std::vector<OpenDebit> DebitsOf(ObligationPart part, const std::vector<Deficit>& outstanding,
                                int model_year, int64_t amount) {
  std::map<int, int64_t> by_year;
  for (const Deficit& d : outstanding) {
    if (d.part == part && d.amount > 0) by_year[d.model_year] += d.amount;
  }
  if (amount > 0) by_year[model_year] += amount;
  std::vector<OpenDebit> out;
  out.reserve(by_year.size());
  for (const auto& [year, left] : by_year) out.push_back(OpenDebit{year, part, left});
  return out;
}

CreditClass Other(CreditClass c) {
  return c == CreditClass::kA ? CreditClass::kB : CreditClass::kA;
}

}  // namespace

SupplierSize SizeOf(int64_t size_basis) {
  if (size_basis < kSmallBelow) return SupplierSize::kSmall;
  if (size_basis >= kLargeFrom) return SupplierSize::kLarge;
  return SupplierSize::kMedium;
}

int64_t ShareOf(int64_t ldv_sales, int basis_points) {
  // ldv x bp / 10000 credits = ldv x bp / 100 hundredths; half up (both factors >= 0).
  return (ldv_sales * basis_points + 50) / 100;
}

Obligation ObligationOf(int64_t ldv_sales, int64_t size_basis, const ComplianceRatio& ratio) {
  Obligation o;
  o.size = SizeOf(size_basis);
  o.size_basis = size_basis;
  o.ratio = ratio;
  if (o.size == SupplierSize::kSmall) return o;
  o.total = ShareOf(ldv_sales, ratio.total_basis_points);
  const bool owes_class_a =
      o.size == SupplierSize::kLarge ||
      (o.size == SupplierSize::kMedium && ratio.model_year >= kMediumClassAFrom);
  o.class_a = owes_class_a ? ShareOf(ldv_sales, ratio.class_a_basis_points) : 0;
  o.any_class = o.total - o.class_a;
  return o;
}

int64_t PenaltyCentsPerCredit(int model_year) {
  return model_year <= 2025 ? kPenaltyCentsPerCreditTo2025 : kPenaltyCentsPerCreditFrom2026;
}

AssessmentOutcome Assess(const std::map<CreditKey, int64_t>& available,
                         const std::vector<Deficit>& outstanding, int model_year,
                         const Obligation& obligation, CreditClass any_class_first,
                         bool previous_in_deficit) {
  AssessmentOutcome out;
  std::map<CreditKey, int64_t> balances;
  for (const auto& [key, amount] : available) {
    if (amount > 0 && key.credit_class != CreditClass::kC) balances[key] = amount;
  }
  const CreditClass first = any_class_first == CreditClass::kA ? CreditClass::kA : CreditClass::kB;
  std::vector<OpenDebit> unpaid;
  // 1. Class A debits from class A credits only.
  for (OpenDebit& debit :
       DebitsOf(ObligationPart::kClassA, outstanding, model_year, obligation.class_a)) {
    PayFrom(debit, CreditClass::kA, balances, out.deductions);
    if (debit.left > 0) unpaid.push_back(debit);
  }
  // 2. Any-class debits: the chosen class, then the other.
  for (OpenDebit& debit :
       DebitsOf(ObligationPart::kAnyClass, outstanding, model_year, obligation.any_class)) {
    PayFrom(debit, first, balances, out.deductions);
    PayFrom(debit, Other(first), balances, out.deductions);
    if (debit.left > 0) unpaid.push_back(debit);
  }
  // 3. What is left stays (or becomes) a deficit of its own model year and part.
  for (const OpenDebit& d : unpaid) out.deficits.push_back(Deficit{d.model_year, d.part, d.left});
  std::sort(out.deficits.begin(), out.deficits.end(), [](const Deficit& a, const Deficit& b) {
    return a.model_year != b.model_year ? a.model_year < b.model_year : a.part < b.part;
  });
  out.compliant = out.deficits.empty();
  if (!out.compliant && previous_in_deficit) {
    for (const Deficit& d : out.deficits) {
      out.penalty_cents += d.amount * PenaltyCentsPerCredit(d.model_year) / 100;
    }
  }
  return out;
}

std::map<CreditKey, int64_t> DeductedPerKey(const std::vector<Deduction>& deductions) {
  std::map<CreditKey, int64_t> out;
  for (const Deduction& d : deductions) out[d.credit] += d.amount;
  return out;
}

const std::vector<ComplianceRatio>& ContractRatios() {
  static const std::vector<ComplianceRatio> ratios{
      {2019, 0, 0},       {2020, 950, 600},   {2021, 1200, 800},  {2022, 1450, 1000},
      {2023, 1700, 1200}, {2024, 1950, 1400}, {2025, 2200, 1600}, {2026, 2630, 1520},
      {2027, 4260, 2770}, {2028, 5890, 4120}, {2029, 7480, 5610}, {2030, 9100, 6830},
      {2031, 9320, 6990}, {2032, 9520, 7140}, {2033, 9720, 7290}, {2034, 9930, 7450},
      {2035, 10000, 7500}};
  return ratios;
}

absl::StatusOr<std::vector<std::string>> CheckReportInputs(
    uint64_t ldv_sales, const std::vector<PreviousSalesInput>& previous,
    const std::vector<std::string>& makes, int any_class_first) {
  if (ldv_sales > static_cast<uint64_t>(kMaxLdvSales)) {
    return InvalidField("ldv_sales", "must be at most 1000000000");
  }
  std::set<uint32_t> years;
  for (size_t i = 0; i < previous.size(); ++i) {
    if (previous[i].ldv_sales > static_cast<uint64_t>(kMaxLdvSales)) {
      return InvalidField(absl::StrCat("previous_sales[", i, "].ldv_sales"),
                          "must be at most 1000000000");
    }
    if (!years.insert(previous[i].model_year).second) {
      return InvalidField(absl::StrCat("previous_sales[", i, "].model_year"),
                          "names a model year twice");
    }
  }
  if (makes.size() > kMaxMakes) {
    return InvalidField("makes", absl::StrCat("must hold at most ", kMaxMakes, " makes"));
  }
  std::vector<std::string> cleaned;
  std::set<std::string> keys;
  for (size_t i = 0; i < makes.size(); ++i) {
    const std::string field = absl::StrCat("makes[", i, "]");
    auto make = CleanText(field, makes[i], kMaxMakeLength);
    if (!make.ok()) return make.status();
    if (!keys.insert(MakeKey(*make)).second) return InvalidField(field, "repeats another make");
    cleaned.push_back(*make);
  }
  if (any_class_first != 0 && any_class_first != 1 && any_class_first != 2) {
    return InvalidField("any_class_first", "must be CREDIT_CLASS_A, CREDIT_CLASS_B or unspecified");
  }
  return cleaned;
}

absl::Status CheckPreviousYears(const std::vector<PreviousSalesInput>& previous, int model_year,
                                const std::map<int, int64_t>& recorded) {
  for (size_t i = 0; i < previous.size(); ++i) {
    const auto year = static_cast<int64_t>(previous[i].model_year);
    const std::string field = absl::StrCat("previous_sales[", i, "].model_year");
    if (year < model_year - 3 || year > model_year - 1) {
      return InvalidField(
          field, absl::StrCat("must be one of the three model years before ", model_year, " (",
                              model_year - 3, "-", model_year - 1, ")"));
    }
    if (recorded.count(static_cast<int>(year)) != 0) {
      return InvalidField(field, absl::StrCat("names ", year,
                                              ", whose sales were recorded by its assessed "
                                              "report and cannot be entered"));
    }
  }
  return absl::OkStatus();
}

std::vector<PreviousSales> PreviousSalesOf(int model_year, const std::map<int, int64_t>& recorded,
                                           const std::map<int, int64_t>& entered) {
  std::vector<PreviousSales> out;
  for (int year = model_year - 3; year < model_year; ++year) {
    PreviousSales p;
    p.model_year = year;
    if (auto r = recorded.find(year); r != recorded.end()) {
      p.ldv_sales = r->second;
      p.recorded = true;
    } else if (auto e = entered.find(year); e != entered.end()) {
      p.ldv_sales = e->second;
    }
    out.push_back(p);
  }
  return out;
}

std::optional<int64_t> SizeBasisOf(const std::vector<PreviousSales>& previous) {
  int64_t sum = 0;
  for (const PreviousSales& p : previous) {
    if (!p.ldv_sales) return std::nullopt;
    sum += *p.ldv_sales;
  }
  return sum;
}

std::optional<Obligation> ReportObligation(int model_year, int64_t ldv_sales,
                                           const std::map<int, int64_t>& recorded,
                                           const std::map<int, int64_t>& entered,
                                           const ComplianceRatio& ratio) {
  const std::optional<int64_t> basis = SizeBasisOf(PreviousSalesOf(model_year, recorded, entered));
  if (!basis) return std::nullopt;
  return ObligationOf(ldv_sales, *basis, ratio);
}

absl::Status CheckReportYear(uint32_t model_year, int current_year) {
  if (model_year < static_cast<uint32_t>(kFirstReportYear) ||
      model_year > static_cast<uint32_t>(kLastReportYear)) {
    return InvalidField("model_year",
                        absl::StrCat("must be from ", kFirstReportYear, " to ", kLastReportYear));
  }
  if (static_cast<int>(model_year) > current_year) {
    return InvalidField("model_year", absl::StrCat("must not be after the current model year (",
                                                   current_year, ")"));
  }
  return absl::OkStatus();
}

}  // namespace zeva::domain
