#include "runtime/logging.h"

#include <catch2/catch.hpp>

#include "db/connection.h"

TEST_CASE("JSON escaping keeps a log line one valid JSON string", "[logging]") {
  using zeva::runtime::JsonEscape;
  CHECK(JsonEscape("plain") == "plain");
  CHECK(JsonEscape("a \"quoted\" \\ path") == "a \\\"quoted\\\" \\\\ path");
  CHECK(JsonEscape("two\nlines\t") == "two\\nlines\\t");
  CHECK(JsonEscape(std::string("\x01", 1)) == "\\u0001");
}

TEST_CASE("unknown log settings are refused", "[logging]") {
  CHECK_FALSE(zeva::runtime::SetUpLogging("loud", "plain").ok());
  CHECK_FALSE(zeva::runtime::SetUpLogging("info", "xml").ok());
  CHECK(zeva::runtime::SetUpLogging("debug", "json").ok());
  CHECK(zeva::runtime::SetUpLogging("info", "plain").ok());
}

TEST_CASE("database URLs are redacted before they are logged", "[logging]") {
  using zeva::db::RedactUrl;
  CHECK(RedactUrl("postgresql://zeva:zevadev@postgres/zeva") ==
        "postgresql://zeva:***@postgres/zeva");
  CHECK(RedactUrl("postgresql://zeva@127.0.0.1:5432/zeva") ==
        "postgresql://zeva@127.0.0.1:5432/zeva");
  CHECK(RedactUrl("host=db user=zeva password=s3cret dbname=zeva") ==
        "host=db user=zeva password=*** dbname=zeva");
}
