#pragma once
// ZEVA's credit value of a vehicle model (docs/contract.md, "Credit value of a model").
// Computed in exact integer arithmetic: credits are decimals with two places, so the result
// is in hundredths of a credit and never suffers binary floating-point rounding.

#include <cstdint>
#include <string>

namespace zeva::domain {

enum class CreditClass { kA, kB, kC };

// `type` is the vehicle's power-train code (BEV, FCEV, EREV, PHEV, ...), upper-case.
CreditClass ClassOf(const std::string& type, uint32_t range_km);

// The credit value in hundredths (e.g. 193 for 1.93 credits); 0 for class C.
// `passed_us06`: nothing in the contract records it yet, so callers pass false.
int64_t CreditHundredths(const std::string& type, uint32_t range_km, bool passed_us06 = false);

// "1.93" from 193: the text form PostgreSQL's numeric(10,2) takes and gives.
std::string HundredthsToDecimal(int64_t hundredths);
// 193 from "1.93", "1.9", "1" or "-0.50"; false for anything else.
bool DecimalToHundredths(const std::string& text, int64_t* hundredths);

}  // namespace zeva::domain
