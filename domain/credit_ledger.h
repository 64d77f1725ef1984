#pragma once
// The rules of the credit ledger that need no database: who may administer credits and see
// which organization's ledger, the checks on requests, and the credits each request posts.
// Every amount is exact: int64 hundredths of a credit, with overflow checked.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "domain/credit_rule.h"

namespace zeva::domain {

// google.rpc.ErrorInfo reasons of the credits API (domain "zeva.credits.v1").
inline constexpr char kErrorDomain[] = "zeva.credits.v1";
inline constexpr char kReasonIdempotencyKeyReused[] = "IDEMPOTENCY_KEY_REUSED";
inline constexpr char kReasonInsufficientCredits[] = "INSUFFICIENT_CREDITS";
inline constexpr char kReasonAlreadyReversed[] = "ALREADY_REVERSED";
inline constexpr char kReasonInvalidStatus[] = "INVALID_STATUS";
inline constexpr char kReasonDuplicateReference[] = "DUPLICATE_REFERENCE";

// Model years a line may name: from 2019 to the year after `current_year`.
inline constexpr int kFirstModelYear = 2019;
inline constexpr size_t kMaxLines = 100;
inline constexpr uint32_t kMaxQuantity = 1000000;
inline constexpr size_t kMaxIdempotencyKeyLength = 128;
inline constexpr size_t kMaxReferenceLength = 100;
inline constexpr size_t kMaxReasonLength = 2000;
// Bounds on every request (docs/credits.md): an amount is at most 1,000,000,000.00 credits
// either way, a price at most $100,000 a credit. Within them every derived figure (a line's
// value, a transfer's total, a posting's sum per key) is exact in int64, checked below.
inline constexpr int64_t kMaxAmountHundredths = 100000000000;  // 10^11
inline constexpr int64_t kMaxPriceCents = 10000000;            // 10^7
// The error text of an amount beyond kMaxAmountHundredths.
inline constexpr char kAmountBoundMessage[] =
    "must be at most 1000000000.00 credits either way (100000000000 hundredths)";

enum class Role { kSigningAuthority, kZevaUser, kEngineerAnalyst, kDirector };

// As stored and sent: "SIGNING_AUTHORITY", "ZEVA_USER", "ENGINEER_ANALYST", "DIRECTOR".
const char* RoleName(Role role);
// Whether the role belongs to government users (else to suppliers).
bool IsGovernmentRole(Role role);

// Whether a user holds `role`: `roles` as stored (e.g. "DIRECTOR"); a role of the other side
// (a supplier's DIRECTOR, a government SIGNING_AUTHORITY) counts as not held.
bool HasRole(bool government, const std::vector<std::string>& roles, Role role);

// CreditAdminService: government DIRECTORs only (PERMISSION_DENIED otherwise).
absl::Status MayAdminister(bool government, const std::vector<std::string>& roles);

// The organization whose balances or entries a caller reads: `requested` (0 = its own; as
// services/wire_numbers maps it, so an id no row has may be negative). A supplier naming
// another organization: PERMISSION_DENIED.
absl::StatusOr<int64_t> LedgerOrganization(bool government, int64_t own_organization_id,
                                           int64_t requested);

struct CreditKey {
  int32_t model_year = 0;
  CreditClass credit_class = CreditClass::kA;
  friend bool operator<(const CreditKey& a, const CreditKey& b) {
    return a.model_year != b.model_year ? a.model_year < b.model_year
                                        : a.credit_class < b.credit_class;
  }
  friend bool operator==(const CreditKey& a, const CreditKey& b) {
    return a.model_year == b.model_year && a.credit_class == b.credit_class;
  }
};
// "2021 A": how messages name a key.
std::string KeyName(const CreditKey& key);
// "A" / "B", as the database's credit_class enum spells them, and back (anything else: C).
const char* ClassName(CreditClass credit_class);
CreditClass ClassNamed(const std::string& name);

// Signed amounts per key for one organization (no zero amounts).
using Postings = std::map<CreditKey, int64_t>;

absl::Status CheckIdempotencyKey(const std::string& key);
// `reference` and `reason` cleaned (domain/text.h) or INVALID_ARGUMENT naming the field.
absl::StatusOr<std::string> CheckReference(const std::string& reference);
absl::StatusOr<std::string> CheckReason(const std::string& reason);

struct IssuanceLine {
  uint64_t vehicle_id = 0;
  uint32_t model_year = 0;
  uint32_t quantity = 0;
};
// What issuance needs of a vehicle, as stored.
struct IssuedVehicle {
  int64_t organization_id = 0;
  std::string type;
  uint32_t range_km = 0;
  int64_t credit_hundredths = 0;
};

// Checks the lines' shape (count, model year, quantity, vehicle id given): INVALID_ARGUMENT
// naming `lines[i].field`.
absl::Status CheckIssuanceLines(const std::vector<IssuanceLine>& lines, int current_year);
// The supplier's postings: per line quantity x the vehicle's stored credit value, in the
// vehicle's class; lines may repeat a vehicle and year (they add up). A vehicle missing from
// `vehicles`, of another organization, or of class C is INVALID_ARGUMENT naming the line.
absl::StatusOr<Postings> IssuancePostings(const std::vector<IssuanceLine>& lines,
                                          const std::map<uint64_t, IssuedVehicle>& vehicles,
                                          int64_t organization_id);

struct AdjustmentLine {
  uint32_t model_year = 0;
  int credit_class = 0;  // the wire enum: 1 = A, 2 = B
  int64_t amount = 0;    // signed hundredths, not 0
};
absl::StatusOr<Postings> AdjustmentPostings(const std::vector<AdjustmentLine>& lines,
                                            int current_year);

// The wire enum of a class (1 = A, 2 = B); INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<CreditClass> WireClass(int value, const std::string& field);

}  // namespace zeva::domain
