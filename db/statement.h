#pragma once
// A named SQL statement. The name is the prepared statement's name on every connection and
// the label under which its calls are counted, so each SQL text lives in exactly one place.

#include <vector>

namespace zeva::db {

struct Statement {
  const char* name;
  const char* sql;
};

// Every statement the service prepares (defined in statements.cc, from the stores' constants).
const std::vector<Statement>& AllStatements();

}  // namespace zeva::db
