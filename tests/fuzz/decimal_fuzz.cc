// Credit values as numeric text (from PostgreSQL, and from the contract's decimal fields),
// and the credit rule over any type and range. Parsed values must print back to text that
// parses to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "domain/credit_rule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  int64_t hundredths = 0;
  if (zeva::domain::DecimalToHundredths(text, &hundredths)) {
    int64_t again = 0;
    if (!zeva::domain::DecimalToHundredths(zeva::domain::HundredthsToDecimal(hundredths), &again) ||
        again != hundredths) {
      std::abort();
    }
  }
  if (size >= sizeof(int64_t)) {  // any int64 prints (values from the database)
    int64_t value = 0;
    std::memcpy(&value, data, sizeof value);
    zeva::domain::HundredthsToDecimal(value);
  }
  if (size >= sizeof(uint32_t)) {
    uint32_t range_km = 0;
    std::memcpy(&range_km, data, sizeof range_km);
    const std::string type = text.substr(sizeof range_km);
    zeva::domain::CreditHundredths(type, range_km, false);
    zeva::domain::CreditHundredths(type, range_km, true);
  }
  return 0;
}
