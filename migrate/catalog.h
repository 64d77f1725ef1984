#pragma once
// The ordered chain of migrations: read from a folder of NNNN_name.sql files, checked to form
// one unbroken line (numbers 1..N without gaps, each file revising the one before it).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "migrate/migration.h"

namespace zeva::migrate {

// Orders parsed migrations by number and checks the chain: numbers 1..N, unique ids, and
// each `revises` naming the previous id (`base` for the first). Pure, for tests.
absl::StatusOr<std::vector<Migration>> BuildChain(std::vector<Migration> migrations);

// Reads and checks every *.sql file of `dir` (other files are ignored).
absl::StatusOr<std::vector<Migration>> LoadChain(const std::string& dir);

// Where the migrations are when --migrations-dir / MIGRATIONS_DIR is not given: ./migrations
// (the repository root), then ../share/zeva/migrations beside the binary (an install prefix),
// then /usr/share/zeva/migrations (the image). `executable` is the binary's own path.
// NOT_FOUND, listing the folders tried, when none exists.
absl::StatusOr<std::string> DefaultMigrationsDir(const std::string& executable);

// Index of `id` in `chain`, or -1.
int IndexOf(const std::vector<Migration>& chain, const std::string& id);

}  // namespace zeva::migrate
