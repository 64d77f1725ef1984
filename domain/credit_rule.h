#pragma once
// ZEVA's credit value of a vehicle model (docs/contract.md, "Credit value of a model").
// Computed in exact integer arithmetic: credits are decimals with two places, so the result
// is in hundredths of a credit and never suffers binary floating-point rounding.

#include <cstdint>
#include <string>

namespace zeva::domain {

enum class CreditClass { kA, kB, kC };

// ZEVA's rule (docs/credits.md): class C for a BEV or FCEV with a range below 80.47 km, any
// other type below 16 km, and any type that is not BEV, FCEV, EREV or PHEV; class A for BEV
// and FCEV otherwise and EREV from 121 km; class B for the rest (EREV below 121 km, PHEV).
// `type` is the power-train code, upper-case (the old fixtures' BZEV is a BEV).
// The range in hundredths of a km, so that 80.47 is compared exactly (8047).
CreditClass ClassOfRange(const std::string& type, int64_t range_hundredths_km);
// The same for a whole number of km, as the wire carries it: 80 km is class C, 81 km class A.
CreditClass ClassOf(const std::string& type, uint32_t range_km);

// The credit value in hundredths (e.g. 193 for 1.93 credits); 0 for class C.
// `passed_us06`: nothing in the contract records it yet, so callers pass false.
int64_t CreditHundredths(const std::string& type, uint32_t range_km, bool passed_us06 = false);

// "1.93" from 193: the text form PostgreSQL's numeric(10,2) takes and gives.
std::string HundredthsToDecimal(int64_t hundredths);
// 193 from "1.93", "1.9", "1" or "-0.50"; false for anything else.
bool DecimalToHundredths(const std::string& text, int64_t* hundredths);

}  // namespace zeva::domain
