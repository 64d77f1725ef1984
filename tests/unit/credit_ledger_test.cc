#include "domain/credit_ledger.h"

#include <catch2/catch.hpp>

#include "domain/refusal.h"

using namespace zeva::domain;

namespace {

std::string FieldOf(const absl::Status& status) {
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  return RefusalField(status);
}

const std::vector<std::string> kAllRoles = {"DIRECTOR", "ENGINEER_ANALYST", "SIGNING_AUTHORITY",
                                            "ZEVA_USER"};

}  // namespace

TEST_CASE("roles count only on their own side", "[credits]") {
  CHECK(HasRole(true, {"DIRECTOR"}, Role::kDirector));
  CHECK_FALSE(HasRole(false, {"DIRECTOR"}, Role::kDirector));
  CHECK(HasRole(false, {"SIGNING_AUTHORITY"}, Role::kSigningAuthority));
  CHECK_FALSE(HasRole(true, {"SIGNING_AUTHORITY"}, Role::kSigningAuthority));
  CHECK_FALSE(HasRole(true, {"ENGINEER_ANALYST"}, Role::kDirector));
  CHECK(MayAdminister(true, {"DIRECTOR"}).ok());
  for (const auto& [government, roles] : std::vector<std::pair<bool, std::vector<std::string>>>{
           {true, {"ENGINEER_ANALYST"}}, {false, kAllRoles}, {true, {}}}) {
    const absl::Status refused = MayAdminister(government, roles);
    CHECK(refused.code() == absl::StatusCode::kPermissionDenied);
    CHECK(IsRefusal(refused));
  }
}

TEST_CASE("whose ledger a caller reads", "[credits]") {
  CHECK(*LedgerOrganization(false, 5, 0) == 5);
  CHECK(*LedgerOrganization(false, 5, 5) == 5);
  CHECK(LedgerOrganization(false, 5, 6).status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(*LedgerOrganization(true, 1, 6) == 6);
  // An id no row has (services map ids above 2^63-1 to negative ones): a supplier is refused
  // as for any other organization, government reads it (and then finds nothing).
  CHECK(LedgerOrganization(false, 5, -1).status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(*LedgerOrganization(true, 1, -1) == -1);
}

TEST_CASE("issuance: quantity x stored value per class, exactly", "[credits]") {
  const std::map<uint64_t, IssuedVehicle> vehicles = {
      {1, {7, "BEV", 300, 10}},   {2, {7, "BEV", 300, 20}},     {3, {7, "BEV", 300, 105}},
      {4, {7, "PHEV", 50, 40}},   {5, {7, "BZEV", 150, 10020}}, {6, {8, "BEV", 300, 100}},
      {7, {7, "HEV", 500, 70050}}};
  auto postings = IssuancePostings({{1, 2021, 1}, {2, 2021, 1}, {3, 2021, 1}}, vehicles, 7);
  REQUIRE(postings.ok());
  REQUIRE(postings->size() == 1);
  CHECK(postings->at(CreditKey{2021, CreditClass::kA}) == 135);  // 0.10 + 0.20 + 1.05
  auto mixed =
      IssuancePostings({{1, 2021, 7}, {1, 2021, 3}, {4, 2021, 2}, {5, 2020, 1}}, vehicles, 7);
  REQUIRE(mixed.ok());
  CHECK(mixed->at(CreditKey{2021, CreditClass::kA}) == 100);
  CHECK(mixed->at(CreditKey{2021, CreditClass::kB}) == 80);
  CHECK(mixed->at(CreditKey{2020, CreditClass::kA}) == 10020);  // BZEV counts as BEV
  CHECK(FieldOf(IssuancePostings({{1, 2021, 1}, {6, 2021, 1}}, vehicles, 7).status()) ==
        "lines[1].vehicle_id");  // another organization's
  CHECK(FieldOf(IssuancePostings({{7, 2021, 1}}, vehicles, 7).status()) == "lines[0].vehicle_id");
  CHECK(FieldOf(IssuancePostings({{9, 2021, 1}}, vehicles, 7).status()) == "lines[0].vehicle_id");
  // The largest quantity of the largest stored value fits easily.
  auto big = IssuancePostings({{5, 2021, kMaxQuantity}}, vehicles, 7);
  REQUIRE(big.ok());
  CHECK(big->at(CreditKey{2021, CreditClass::kA}) == int64_t{10020} * 1000000);
}

TEST_CASE("issuance lines: count, model year, quantity, vehicle", "[credits]") {
  CHECK(CheckIssuanceLines({{1, 2019, 1}}, 2026).ok());
  CHECK(CheckIssuanceLines({{1, 2027, 1}}, 2026).ok());
  CHECK(FieldOf(CheckIssuanceLines({}, 2026)) == "lines");
  CHECK(FieldOf(CheckIssuanceLines(std::vector<IssuanceLine>(101, {1, 2021, 1}), 2026)) == "lines");
  CHECK(FieldOf(CheckIssuanceLines({{1, 2021, 1}, {1, 2018, 1}}, 2026)) == "lines[1].model_year");
  CHECK(FieldOf(CheckIssuanceLines({{1, 2028, 1}}, 2026)) == "lines[0].model_year");
  CHECK(FieldOf(CheckIssuanceLines({{1, 2021, 0}}, 2026)) == "lines[0].quantity");
  CHECK(FieldOf(CheckIssuanceLines({{1, 2021, 1000001}}, 2026)) == "lines[0].quantity");
  CHECK(FieldOf(CheckIssuanceLines({{0, 2021, 1}}, 2026)) == "lines[0].vehicle_id");
}

TEST_CASE("adjustment lines: signed, not 0, one per key", "[credits]") {
  auto postings = AdjustmentPostings({{2021, 1, -150}, {2021, 2, 25}, {2022, 1, 1}}, 2026);
  REQUIRE(postings.ok());
  CHECK(postings->at(CreditKey{2021, CreditClass::kA}) == -150);
  CHECK(postings->at(CreditKey{2021, CreditClass::kB}) == 25);
  CHECK(FieldOf(AdjustmentPostings({{2021, 1, 0}}, 2026).status()) == "lines[0].amount");
  CHECK(FieldOf(AdjustmentPostings({{2021, 1, INT64_MIN}}, 2026).status()) == "lines[0].amount");
  CHECK(FieldOf(AdjustmentPostings({{2021, 1, INT64_MAX}}, 2026).status()) == "lines[0].amount");
  CHECK(FieldOf(AdjustmentPostings({{2021, 0, 5}}, 2026).status()) == "lines[0].credit_class");
  CHECK(FieldOf(AdjustmentPostings({{2021, 3, 5}}, 2026).status()) == "lines[0].credit_class");
  CHECK(FieldOf(AdjustmentPostings({{2021, 1, 5}, {2021, 1, 6}}, 2026).status()) ==
        "lines[1].model_year");
  CHECK(FieldOf(AdjustmentPostings({}, 2026).status()) == "lines");
}

TEST_CASE("keys, references and reasons", "[credits]") {
  CHECK(CheckIdempotencyKey("3f2c1a9e-7b7d").ok());
  CHECK(FieldOf(CheckIdempotencyKey("")) == "idempotency_key");
  CHECK(FieldOf(CheckIdempotencyKey(std::string(129, 'k'))) == "idempotency_key");
  CHECK(CheckIdempotencyKey(std::string(128, 'k')).ok());
  CHECK(FieldOf(CheckIdempotencyKey(" padded")) == "idempotency_key");
  CHECK(*CheckReference("  sales/2021 ") == "sales/2021");
  CHECK(FieldOf(CheckReference("").status()) == "reference");
  CHECK(FieldOf(CheckReason("bad\x01").status()) == "reason");
  CHECK(KeyName(CreditKey{2021, CreditClass::kA}) == "2021 A");
  CHECK(KeyName(CreditKey{2024, CreditClass::kB}) == "2024 B");
}

TEST_CASE("every amount is bounded at 10^11 hundredths either way", "[credits][bounds]") {
  // Adjustments: exactly at the bound both ways is accepted, one beyond is refused.
  auto at_bound =
      AdjustmentPostings({{2021, 1, kMaxAmountHundredths}, {2021, 2, -kMaxAmountHundredths}}, 2026);
  REQUIRE(at_bound.ok());
  CHECK(at_bound->at(CreditKey{2021, CreditClass::kA}) == 100000000000);
  const auto over = AdjustmentPostings({{2021, 1, kMaxAmountHundredths + 1}}, 2026).status();
  CHECK(over.code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(over) == "lines[0].amount");
  CHECK(std::string(over.message()).find("at most 1000000000.00 credits") != std::string::npos);
  CHECK(FieldOf(AdjustmentPostings({{2021, 1, 5}, {2021, 2, -kMaxAmountHundredths - 1}}, 2026)
                    .status()) == "lines[1].amount");

  // Issuance: the sum per key is an amount too. 100 lines of 10^6 vehicles at 4.00 stay under
  // it; at 100.20 (a stored value no rule gives, but the column allows) they do not.
  const std::map<uint64_t, IssuedVehicle> vehicles = {{1, {7, "BEV", 600, 400}},
                                                      {2, {7, "BEV", 600, 10020}}};
  auto most =
      IssuancePostings(std::vector<IssuanceLine>(100, {1, 2021, kMaxQuantity}), vehicles, 7);
  REQUIRE(most.ok());
  CHECK(most->at(CreditKey{2021, CreditClass::kA}) == int64_t{400} * 1000000 * 100);
  const auto beyond =
      IssuancePostings(std::vector<IssuanceLine>(10, {2, 2021, kMaxQuantity}), vehicles, 7)
          .status();
  CHECK(beyond.code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(beyond) == "lines[9].quantity");
}
