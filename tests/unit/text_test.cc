#include "domain/text.h"

#include <catch2/catch.hpp>

#include "domain/refusal.h"

using zeva::domain::CleanText;

namespace {

std::string Refused(const std::string& value) {
  auto result = CleanText("name", value, 10);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(zeva::domain::IsRefusal(result.status()));
  return std::string(result.status().message());
}

}  // namespace

TEST_CASE("text is trimmed of ASCII and Unicode blanks at both ends", "[validation]") {
  CHECK(*CleanText("name", "  Leaf \t", 10) == "Leaf");
  // NBSP, ZERO WIDTH SPACE, BOM, IDEOGRAPHIC SPACE around the value.
  CHECK(*CleanText("name",
                   "\xC2\xA0\xE2\x80\x8B"
                   "Leaf\xEF\xBB\xBF\xE3\x80\x80",
                   10) == "Leaf");
  // Inside the value, spaces and joiners stay (an emoji sequence uses U+200D).
  CHECK(*CleanText("name",
                   "a b\xE2\x80\x8D"
                   "c",
                   10) ==
        "a b\xE2\x80\x8D"
        "c");
}

TEST_CASE("text made only of blanks or invisible characters is empty", "[validation]") {
  CHECK(Refused("") == "name must not be empty");
  CHECK(Refused(" \t ") == "name must not be empty");
  CHECK(Refused("\xC2\xA0\xC2\xA0") == "name must not be empty");          // NBSP
  CHECK(Refused("\xE2\x80\x8B\xE2\x80\x8C") == "name must not be empty");  // ZWSP, ZWNJ
  CHECK(Refused("\xEF\xBB\xBF\xE2\x81\xA0") == "name must not be empty");  // BOM, WORD JOINER
}

TEST_CASE("control characters are refused: C0, DEL, C1 and line separators", "[validation]") {
  for (const std::string& bad : {std::string("a\x01"), std::string("a\0b", 3),
                                 std::string("a\x7F"
                                             "b"),
                                 std::string("a\xC2\x85"
                                             "b"),
                                 std::string("a\xC2\x9F"
                                             "b"),
                                 std::string("a\nb"),
                                 std::string("a\xE2\x80\xA8"
                                             "b")}) {
    CHECK(Refused(bad) == "name contains control characters");
  }
}

TEST_CASE("bidirectional formatting characters are refused", "[validation]") {
  for (const char* bad : {"a\xE2\x80\xAE"
                          "b",
                          "a\xE2\x80\xAA"
                          "b",
                          "a\xE2\x81\xA6"
                          "b",
                          "a\xE2\x81\xA9"
                          "b",
                          "a\xE2\x80\x8F"
                          "b",
                          "a\xD8\x9C"
                          "b"}) {
    CHECK(Refused(bad) == "name contains bidirectional formatting characters");
  }
  // Right-to-left text itself is fine.
  CHECK(CleanText("name", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", 10).ok());
}

TEST_CASE("only strict UTF-8, counted in characters", "[validation]") {
  CHECK(Refused("\xC3") == "name is not valid UTF-8");
  CHECK(Refused("\xC0\xAF") == "name is not valid UTF-8");          // overlong '/'
  CHECK(Refused("\xED\xA0\x80") == "name is not valid UTF-8");      // a surrogate
  CHECK(Refused("\xF4\x90\x80\x80") == "name is not valid UTF-8");  // above U+10FFFF
  CHECK(CleanText("name", std::string(10, 'x'), 10).ok());
  CHECK(Refused(std::string(11, 'x')) == "name is longer than 10 characters");
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "\xC3\xA9";
  CHECK(CleanText("name", accents, 10).ok());
}
