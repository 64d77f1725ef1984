#include "domain/credit_ledger.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"
#include "domain/text.h"

namespace zeva::domain {
namespace {

std::string Line(size_t i, const char* field) { return absl::StrCat("lines[", i, "].", field); }

absl::Status CheckLineCount(size_t count) {
  if (count == 0 || count > kMaxLines) {
    return InvalidField("lines", absl::StrCat("must hold 1 to ", kMaxLines, " lines"));
  }
  return absl::OkStatus();
}

absl::Status CheckModelYear(uint32_t year, int current_year, const std::string& field) {
  if (year < kFirstModelYear || year > static_cast<uint32_t>(current_year + 1)) {
    return InvalidField(field, absl::StrCat("must be a model year from ", kFirstModelYear, " to ",
                                            current_year + 1));
  }
  return absl::OkStatus();
}

// a + b, or false on int64 overflow.
bool Add(int64_t a, int64_t b, int64_t* sum) { return !__builtin_add_overflow(a, b, sum); }

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kSigningAuthority:
      return "SIGNING_AUTHORITY";
    case Role::kZevaUser:
      return "ZEVA_USER";
    case Role::kEngineerAnalyst:
      return "ENGINEER_ANALYST";
    case Role::kDirector:
      return "DIRECTOR";
  }
  return "";
}

bool IsGovernmentRole(Role role) {
  return role == Role::kEngineerAnalyst || role == Role::kDirector;
}

bool HasRole(bool government, const std::vector<std::string>& roles, Role role) {
  return government == IsGovernmentRole(role) &&
         std::find(roles.begin(), roles.end(), RoleName(role)) != roles.end();
}

absl::Status MayAdminister(bool government, const std::vector<std::string>& roles) {
  if (HasRole(government, roles, Role::kDirector)) return absl::OkStatus();
  return Refusal(absl::StatusCode::kPermissionDenied,
                 "only government users with the DIRECTOR role may issue, adjust or reverse "
                 "credits",
                 "PERMISSION_DENIED");
}

absl::StatusOr<int64_t> LedgerOrganization(bool government, int64_t own_organization_id,
                                           int64_t requested) {
  if (requested == 0) return own_organization_id;
  const int64_t id = requested;
  if (!government && id != own_organization_id) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   "suppliers may read only their own organization's credits", "PERMISSION_DENIED",
                   "organization_id");
  }
  return id;
}

const char* ClassName(CreditClass credit_class) {
  return credit_class == CreditClass::kA ? "A" : credit_class == CreditClass::kB ? "B" : "C";
}

CreditClass ClassNamed(const std::string& name) {
  return name == "A" ? CreditClass::kA : name == "B" ? CreditClass::kB : CreditClass::kC;
}

std::string KeyName(const CreditKey& key) {
  return absl::StrCat(key.model_year, " ", ClassName(key.credit_class));
}

absl::StatusOr<CreditClass> WireClass(int value, const std::string& field) {
  if (value == 1) return CreditClass::kA;
  if (value == 2) return CreditClass::kB;
  return InvalidField(field, "must be CREDIT_CLASS_A or CREDIT_CLASS_B");
}

absl::Status CheckIdempotencyKey(const std::string& key) {
  if (key.empty()) return InvalidField("idempotency_key", "must be given");
  auto clean = CleanText("idempotency_key", key, kMaxIdempotencyKeyLength);
  if (!clean.ok()) return clean.status();
  if (*clean != key)
    return InvalidField("idempotency_key", "must not start or end with white space");
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckReference(const std::string& reference) {
  return CleanText("reference", reference, kMaxReferenceLength);
}

absl::StatusOr<std::string> CheckReason(const std::string& reason) {
  return CleanText("reason", reason, kMaxReasonLength);
}

absl::Status CheckIssuanceLines(const std::vector<IssuanceLine>& lines, int current_year) {
  if (absl::Status count = CheckLineCount(lines.size()); !count.ok()) return count;
  for (size_t i = 0; i < lines.size(); ++i) {
    const IssuanceLine& line = lines[i];
    // An id above 2^63-1 names no vehicle, as IssuancePostings then says of it.
    if (line.vehicle_id == 0) return InvalidField(Line(i, "vehicle_id"), "must name a vehicle");
    if (absl::Status year = CheckModelYear(line.model_year, current_year, Line(i, "model_year"));
        !year.ok()) {
      return year;
    }
    if (line.quantity == 0 || line.quantity > kMaxQuantity) {
      return InvalidField(Line(i, "quantity"), absl::StrCat("must be 1 to ", kMaxQuantity));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Postings> IssuancePostings(const std::vector<IssuanceLine>& lines,
                                          const std::map<uint64_t, IssuedVehicle>& vehicles,
                                          int64_t organization_id) {
  Postings postings;
  for (size_t i = 0; i < lines.size(); ++i) {
    const IssuanceLine& line = lines[i];
    const auto found = vehicles.find(line.vehicle_id);
    if (found == vehicles.end() || found->second.organization_id != organization_id) {
      return InvalidField(Line(i, "vehicle_id"),
                          absl::StrCat("names no vehicle of organization ", organization_id));
    }
    const IssuedVehicle& vehicle = found->second;
    const CreditClass credit_class = ClassOf(vehicle.type, vehicle.range_km);
    if (credit_class == CreditClass::kC || vehicle.credit_hundredths <= 0) {
      return InvalidField(
          Line(i, "vehicle_id"),
          absl::StrCat("names a vehicle that earns no credits (", vehicle.type, ")"));
    }
    // quantity <= 10^6 and a stored credit value < 10^8 hundredths: no overflow here.
    const int64_t amount = static_cast<int64_t>(line.quantity) * vehicle.credit_hundredths;
    const CreditKey key{static_cast<int32_t>(line.model_year), credit_class};
    int64_t& total = postings[key];
    // The posting's sum per key is an amount like any other, with the same bound.
    if (!Add(total, amount, &total) || total > kMaxAmountHundredths) {
      return InvalidField(Line(i, "quantity"),
                          absl::StrCat("brings the credits of ", KeyName(key), " to more than ",
                                       "1000000000.00; issue them in several requests"));
    }
  }
  return postings;
}

absl::StatusOr<Postings> AdjustmentPostings(const std::vector<AdjustmentLine>& lines,
                                            int current_year) {
  if (absl::Status count = CheckLineCount(lines.size()); !count.ok()) return count;
  Postings postings;
  for (size_t i = 0; i < lines.size(); ++i) {
    const AdjustmentLine& line = lines[i];
    if (absl::Status year = CheckModelYear(line.model_year, current_year, Line(i, "model_year"));
        !year.ok()) {
      return year;
    }
    auto credit_class = WireClass(line.credit_class, Line(i, "credit_class"));
    if (!credit_class.ok()) return credit_class.status();
    if (line.amount == 0) return InvalidField(Line(i, "amount"), "must not be 0");
    // Compared on both sides, never negated: -INT64_MIN is undefined.
    if (line.amount > kMaxAmountHundredths || line.amount < -kMaxAmountHundredths) {
      return InvalidField(Line(i, "amount"), kAmountBoundMessage);
    }
    const CreditKey key{static_cast<int32_t>(line.model_year), *credit_class};
    if (!postings.emplace(key, line.amount).second) {
      return InvalidField(
          Line(i, "model_year"),
          absl::StrCat("repeats ", KeyName(key), "; one line per model year and class"));
    }
  }
  return postings;
}

}  // namespace zeva::domain
