#include "domain/credit_rule.h"

#include <catch2/catch.hpp>

using namespace zeva::domain;

TEST_CASE("class A: BEV, FCEV, and EREV from 121 km: 0.006214 * range + 0.5, at most 4",
          "[credits]") {
  CHECK(CreditHundredths("BEV", 100) == 112);   // 1.1214 -> 1.12
  CHECK(CreditHundredths("BEV", 500) == 361);   // 3.607 -> 3.61
  CHECK(CreditHundredths("FCEV", 300) == 236);  // 2.3642 -> 2.36
  CHECK(CreditHundredths("EREV", 121) == 125);  // 1.251894 -> 1.25
  CHECK(CreditHundredths("BEV", 563) == 400);   // 3.998482 -> 4.00
  CHECK(CreditHundredths("BEV", 1500) == 400);  // capped
  CHECK(ClassOf("EREV", 121) == CreditClass::kA);
}

TEST_CASE("class B: other EREV and PHEV: 0.006214 * range + 0.3, at most 1.1", "[credits]") {
  CHECK(ClassOf("EREV", 120) == CreditClass::kB);
  CHECK(CreditHundredths("EREV", 120) == 105);  // 1.04568 -> 1.05
  CHECK(CreditHundredths("PHEV", 50) == 61);    // 0.6107 -> 0.61
  CHECK(CreditHundredths("PHEV", 200) == 110);  // 1.5428 capped at 1.10
  CHECK(CreditHundredths("PHEV", 50, /*passed_us06=*/true) == 81);
  CHECK(CreditHundredths("PHEV", 200, /*passed_us06=*/true) == 130);
}

TEST_CASE("values round to the nearest hundredth", "[credits]") {
  CHECK(CreditHundredths("BEV", 90) == 106);  // 1.05926 -> 1.06 (up)
  CHECK(CreditHundredths("PHEV", 75) == 77);  // 0.76605 -> 0.77 (up)
  CHECK(CreditHundredths("BEV", 81) == 100);  // 1.003334 -> 1.00 (down)
  CHECK(CreditHundredths("PHEV", 16) == 40);  // 0.399424 -> 0.40 (up)
  CHECK(CreditHundredths("PHEV", 20) == 42);  // 0.42428 -> 0.42 (down)
}

TEST_CASE("class C thresholds: BEV/FCEV below 80.47 km, others below 16 km", "[credits]") {
  // Whole km, as the wire carries them.
  for (const char* type : {"BEV", "FCEV", "BZEV"}) {
    INFO(type);
    CHECK(ClassOf(type, 80) == CreditClass::kC);
    CHECK(CreditHundredths(type, 80) == 0);
    CHECK(ClassOf(type, 81) == CreditClass::kA);
    CHECK(CreditHundredths(type, 81) == 100);
    CHECK(ClassOf(type, 0) == CreditClass::kC);
  }
  for (const char* type : {"EREV", "PHEV"}) {
    INFO(type);
    CHECK(ClassOf(type, 15) == CreditClass::kC);
    CHECK(CreditHundredths(type, 15) == 0);
    CHECK(ClassOf(type, 16) == CreditClass::kB);
  }
  // In the rule's own arithmetic (hundredths of a km): 80.47 and 16.00 exactly.
  CHECK(ClassOfRange("BEV", 8046) == CreditClass::kC);
  CHECK(ClassOfRange("BEV", 8047) == CreditClass::kA);
  CHECK(ClassOfRange("FCEV", 8046) == CreditClass::kC);
  CHECK(ClassOfRange("FCEV", 8047) == CreditClass::kA);
  CHECK(ClassOfRange("PHEV", 1599) == CreditClass::kC);
  CHECK(ClassOfRange("PHEV", 1600) == CreditClass::kB);
  CHECK(ClassOfRange("EREV", 1599) == CreditClass::kC);
  CHECK(ClassOfRange("EREV", 12099) == CreditClass::kB);
  CHECK(ClassOfRange("EREV", 12100) == CreditClass::kA);
  // Types other than BEV, FCEV, EREV, PHEV earn nothing at any range.
  for (const char* type : {"HEV", "ICE", "", "MHEV"}) CHECK(ClassOf(type, 600) == CreditClass::kC);
  // The caps: class A at 4.00 (563 km reaches it), class B at 1.10 (EREV 120 is 1.05; PHEV 130
  // would be 1.11).
  CHECK(CreditHundredths("BEV", 562) == 399);
  CHECK(CreditHundredths("BEV", 563) == 400);
  CHECK(CreditHundredths("PHEV", 129) == 110);  // 1.101606 -> 1.10
  CHECK(CreditHundredths("PHEV", 130) == 110);  // 1.10782 capped
  CHECK(CreditHundredths("EREV", 121) == 125);
}

TEST_CASE("class C earns nothing", "[credits]") {
  CHECK(ClassOf("HEV", 500) == CreditClass::kC);
  CHECK(CreditHundredths("HEV", 500) == 0);
  // The old fixtures' BZEV is a battery electric vehicle (docs/credits.md): a BEV for the rule.
  CHECK(CreditHundredths("BZEV", 150) == CreditHundredths("BEV", 150));
  CHECK(ClassOf("BZEV", 150) == CreditClass::kA);
  CHECK(CreditHundredths("bev", 150) == 0);  // callers normalise case first
}

TEST_CASE("hundredths convert to and from PostgreSQL numeric text", "[credits]") {
  CHECK(HundredthsToDecimal(193) == "1.93");
  CHECK(HundredthsToDecimal(70050) == "700.50");
  CHECK(HundredthsToDecimal(5) == "0.05");
  CHECK(HundredthsToDecimal(-50) == "-0.50");
  int64_t value = 0;
  CHECK(DecimalToHundredths("100.20", &value));
  CHECK(value == 10020);
  CHECK(DecimalToHundredths("7", &value));
  CHECK(value == 700);
  CHECK(DecimalToHundredths("0.5", &value));
  CHECK(value == 50);
  CHECK(DecimalToHundredths("-1.25", &value));
  CHECK(value == -125);
  CHECK_FALSE(DecimalToHundredths("1.234", &value));
  CHECK_FALSE(DecimalToHundredths("abc", &value));
  CHECK_FALSE(DecimalToHundredths(".5", &value));
  CHECK_FALSE(DecimalToHundredths("", &value));
}

// Found by tests/fuzz/decimal_fuzz.cc: a whole part above int64's range of hundredths
// overflowed (undefined behaviour) instead of being refused.
TEST_CASE("numeric text beyond int64 hundredths is refused, not overflowed", "[credits]") {
  int64_t value = 0;
  CHECK(DecimalToHundredths("92233720368547757.99", &value));
  CHECK(value == 9223372036854775799);
  CHECK_FALSE(DecimalToHundredths("92233720368547758", &value));
  CHECK_FALSE(DecimalToHundredths("191999999901091999", &value));
  CHECK_FALSE(DecimalToHundredths("-99999999999999999999.00", &value));
  CHECK(HundredthsToDecimal(INT64_MIN) == "-92233720368547758.08");
  CHECK(HundredthsToDecimal(INT64_MAX) == "92233720368547758.07");
}
