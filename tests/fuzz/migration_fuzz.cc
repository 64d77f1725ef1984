// Migration files: the runner reads them from disk, and a bad one (edited by hand, merged
// badly) must give an error naming the line, never a crash. Also the statement splitter on
// the same bytes, since it sees every section's SQL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "migrate/migration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto migration = zeva::migrate::ParseMigration("0001_fuzz.sql", text);
  if (migration.ok()) {
    zeva::migrate::Checksum(*migration);
    zeva::migrate::SplitStatements(migration->up);
  }
  size_t total = 0;
  for (const auto& statement : zeva::migrate::SplitStatements(text)) {
    // Every statement is a piece of the input, and holds more than comments and blanks.
    if (statement.empty()) std::abort();
    total += statement.size();
  }
  if (total > text.size()) std::abort();
  return 0;
}
