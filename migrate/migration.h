#pragma once
// One migration as read from its file under migrations/, and the pure functions that read it:
// parsing the file, splitting a section into statements, and the checksum that `check`
// compares with the one recorded when the migration was applied.
//
// File format (NNNN_name.sql; NNNN orders the chain):
//   -- id: 0006_organization_type          (at most 32 characters: alembic_version's width)
//   -- revises: 36600dac742e               (the previous id, or `base` for the first)
//   -- description: organization type ...
//   -- transaction: none                   (optional; default: one transaction per migration)
//   -- any other comment
//   -- migrate:up                          (required)
//   ...SQL...
//   -- migrate:fixtures-up                 (optional: test data, only with --fixtures)
//   -- migrate:fixtures-down               (optional)
//   -- migrate:down                        (optional; absent means irreversible)

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace zeva::migrate {

struct Migration {
  int number = 0;         // NNNN of the file name
  std::string file_name;  // e.g. 0006_organization_type.sql
  std::string id;         // written to alembic_version and the history table
  std::string revises;    // previous id, "base" for the first
  std::string description;
  bool transactional = true;
  std::string up;
  std::optional<std::string> down;  // nullopt: cannot be undone
  std::string fixtures_up;
  std::string fixtures_down;
  std::string checksum;  // hex SHA-256 of what applying runs (see Checksum)
};

// Parses one file. Errors name the file and line.
absl::StatusOr<Migration> ParseMigration(const std::string& file_name, const std::string& text);

// Splits SQL into statements at top-level semicolons, respecting quotes ('', "", E'' with
// backslashes, $tag$ dollar quotes) and comments (-- and nested /* */). Statements that hold
// only comments and whitespace are dropped; the trailing semicolon is not included.
std::vector<std::string> SplitStatements(const std::string& sql);

// Hex SHA-256 of the parts that applying a migration runs: the transaction mode, `up` and
// `fixtures-up` (line endings normalised). The `down` parts may be fixed after the fact without
// making applied migrations look edited.
std::string Checksum(const Migration& migration);

// Hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace zeva::migrate
