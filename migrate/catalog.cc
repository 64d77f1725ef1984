#include "migrate/catalog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace zeva::migrate {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<Migration>> BuildChain(std::vector<Migration> migrations) {
  std::sort(migrations.begin(), migrations.end(),
            [](const Migration& a, const Migration& b) { return a.number < b.number; });
  std::set<std::string> ids;
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    const int expected_number = static_cast<int>(i) + 1;
    if (m.number != expected_number) {
      return absl::InvalidArgumentError(
          absl::StrCat(m.file_name, ": expected number ", expected_number,
                       " here (migrations are numbered 1..N without gaps or repeats)"));
    }
    if (!ids.insert(m.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(m.file_name, ": id '", m.id, "' is used by an earlier migration"));
    }
    const std::string expected_parent = i == 0 ? "base" : migrations[i - 1].id;
    if (m.revises != expected_parent) {
      return absl::InvalidArgumentError(
          absl::StrCat(m.file_name, ": revises '", m.revises, "' but the previous migration is '",
                       expected_parent, "' (two branches added the same number?)"));
    }
  }
  return migrations;
}

absl::StatusOr<std::vector<Migration>> LoadChain(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("migrations folder ", dir, " does not exist"));
  }
  std::vector<Migration> migrations;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !absl::EndsWith(name, ".sql")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return absl::InternalError(absl::StrCat("cannot read ", entry.path().string()));
    auto migration = ParseMigration(name, text.str());
    if (!migration.ok()) return migration.status();
    migrations.push_back(*std::move(migration));
  }
  if (error) {
    return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", error.message()));
  }
  if (migrations.empty()) {
    return absl::NotFoundError(absl::StrCat("no NNNN_name.sql migration files in ", dir));
  }
  return BuildChain(std::move(migrations));
}

absl::StatusOr<std::string> DefaultMigrationsDir(const std::string& executable) {
  std::vector<std::string> candidates = {"migrations"};
  std::error_code error;
  const fs::path binary = fs::weakly_canonical(fs::path(executable), error);
  if (!error && binary.has_parent_path()) {
    candidates.push_back(
        (binary.parent_path().parent_path() / "share" / "zeva" / "migrations").string());
  }
  candidates.push_back("/usr/share/zeva/migrations");
  for (const auto& dir : candidates) {
    if (fs::is_directory(dir, error)) return dir;
  }
  return absl::NotFoundError(absl::StrCat("no migrations folder found (tried ",
                                          absl::StrJoin(candidates, ", "),
                                          "); set --migrations-dir or MIGRATIONS_DIR"));
}

int IndexOf(const std::vector<Migration>& chain, const std::string& id) {
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace zeva::migrate
