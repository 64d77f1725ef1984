// A vehicle model as a supplier submits it: four text fields and a range, all the client's.
// Input: range (4 bytes), then make, model, type and trim separated by '\0'. An accepted model
// must hold what the validation promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "domain/vehicle_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(uint32_t)) return 0;
  uint32_t range_km = 0;
  std::memcpy(&range_km, data, sizeof range_km);
  std::vector<std::string> fields(4);
  size_t field = 0;
  for (size_t i = sizeof range_km; i < size; ++i) {
    if (data[i] == '\0' && field + 1 < fields.size()) {
      ++field;
    } else {
      fields[field].push_back(static_cast<char>(data[i]));
    }
  }
  auto model =
      zeva::domain::ValidateVehicleModel(fields[0], fields[1], fields[2], fields[3], range_km);
  if (!model.ok()) return 0;
  for (const std::string* text : {&model->make, &model->model, &model->type, &model->trim}) {
    if (text->empty()) std::abort();
    size_t characters = 0;  // UTF-8: every byte but continuation bytes starts a character
    for (size_t i = 0; i < text->size(); ++i) {
      const auto c = static_cast<unsigned char>((*text)[i]);
      if (c < 0x20 || c == 0x7F) std::abort();  // C0 controls and DEL
      // C1 controls (U+0080-U+009F: 0xC2 0x80-0x9F) and bidi overrides (U+202A-U+202E:
      // 0xE2 0x80 0xAA-0xAE) never pass validation either.
      if (c == 0xC2 && i + 1 < text->size() && static_cast<unsigned char>((*text)[i + 1]) <= 0x9F) {
        std::abort();
      }
      if (c == 0xE2 && i + 2 < text->size() && static_cast<unsigned char>((*text)[i + 1]) == 0x80 &&
          static_cast<unsigned char>((*text)[i + 2]) >= 0xAA &&
          static_cast<unsigned char>((*text)[i + 2]) <= 0xAE) {
        std::abort();
      }
      characters += (c & 0xC0) != 0x80;
    }
    if (characters > zeva::domain::kMaxTextLength) std::abort();
  }
  if (model->range_km == 0 || model->range_km > zeva::domain::kMaxRangeKm) std::abort();
  if (model->credit_hundredths <= 0) std::abort();
  return 0;
}
