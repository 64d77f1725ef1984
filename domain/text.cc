#include "domain/text.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/refusal.h"

namespace zeva::domain {
namespace {

struct CodePoint {
  char32_t value;
  size_t offset;  // of its first byte
  size_t width;   // bytes
};

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF); false when the
// bytes are not UTF-8.
bool Decode(absl::string_view text, std::vector<CodePoint>* out) {
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t width = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (lead < 0x80) {
      width = 1, cp = lead;
    } else if ((lead >> 5) == 0x6) {
      width = 2, cp = lead & 0x1F, min = 0x80;
    } else if ((lead >> 4) == 0xE) {
      width = 3, cp = lead & 0x0F, min = 0x800;
    } else if ((lead >> 3) == 0x1E) {
      width = 4, cp = lead & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + width > text.size()) return false;
    for (size_t k = 1; k < width; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out->push_back(CodePoint{cp, i, width});
    i += width;
  }
  return true;
}

// White space and characters that show nothing: trimmed from both ends, so that a value
// made only of them counts as empty.
bool IsBlank(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x00A0 ||
         c == 0x00AD || c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200D) || c == 0x202F ||
         c == 0x205F || c == 0x2060 || c == 0x3000 || c == 0xFEFF;
}

bool IsControl(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029;
}

bool IsBidiControl(char32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

absl::StatusOr<std::string> CleanText(absl::string_view field, absl::string_view value,
                                      size_t max_chars, bool multiline) {
  std::vector<CodePoint> points;
  if (!Decode(value, &points)) return InvalidField(field, "is not valid UTF-8");
  size_t first = 0;
  size_t last = points.size();
  while (first < last && IsBlank(points[first].value)) ++first;
  while (last > first && IsBlank(points[last - 1].value)) --last;
  if (first == last) return InvalidField(field, "must not be empty");
  if (last - first > max_chars) {
    return InvalidField(field, absl::StrCat("is longer than ", max_chars, " characters"));
  }
  for (size_t i = first; i < last; ++i) {
    if (IsControl(points[i].value) && !(multiline && points[i].value == '\n')) {
      return InvalidField(field, "contains control characters");
    }
    if (IsBidiControl(points[i].value)) {
      return InvalidField(field, "contains bidirectional formatting characters");
    }
  }
  const size_t begin = points[first].offset;
  const size_t end = points[last - 1].offset + points[last - 1].width;
  return std::string(value.substr(begin, end - begin));
}

}  // namespace zeva::domain
