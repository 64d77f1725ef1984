#include "migrate/bookkeeping.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace zeva::migrate {

namespace {

constexpr char kCreateHistorySql[] = R"(CREATE TABLE IF NOT EXISTS zeva_schema_history (
  id varchar(32) PRIMARY KEY,
  seq integer NOT NULL UNIQUE,
  description text NOT NULL,
  checksum char(64) NOT NULL,
  fixtures boolean,
  adopted boolean NOT NULL DEFAULT false,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms bigint NOT NULL,
  applied_by text NOT NULL
))";

// alembic's own DDL for its table.
constexpr char kCreateAlembicSql[] = R"(CREATE TABLE IF NOT EXISTS alembic_version (
  version_num varchar(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
))";

constexpr char kInsertHistorySql[] =
    "INSERT INTO zeva_schema_history "
    "(id, seq, description, checksum, fixtures, adopted, duration_ms, applied_by) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8 || ' as ' || current_user)";
constexpr char kDeleteHistorySql[] = "DELETE FROM zeva_schema_history WHERE id = $1";
constexpr char kClearAlembicSql[] = "DELETE FROM alembic_version";
constexpr char kSetAlembicSql[] = "INSERT INTO alembic_version (version_num) VALUES ($1)";

BoundStatement InsertHistory(const Migration& m, int seq, std::optional<bool> fixtures,
                             bool adopted, int64_t duration_ms, const std::string& applied_by) {
  std::optional<std::string> fixtures_text;
  if (fixtures) fixtures_text = *fixtures ? "true" : "false";
  return {kInsertHistorySql,
          {m.id, std::to_string(seq), m.description, m.checksum, fixtures_text,
           adopted ? "true" : "false", std::to_string(duration_ms), applied_by}};
}

// A statement whose last line ends in a -- comment needs its semicolon on a line of its own.
std::string Terminated(const std::string& statement) {
  const auto last_line = statement.rfind('\n');
  const bool comment =
      statement.find("--", last_line == std::string::npos ? 0 : last_line) != std::string::npos;
  return absl::StrCat(statement, comment ? "\n;\n" : ";\n");
}

void AppendSplit(const std::string& sql, std::vector<std::string>* out) {
  for (auto& statement : SplitStatements(sql)) out->push_back(std::move(statement));
}

}  // namespace

std::vector<BoundStatement> CreateBookkeeping() {
  return {{kCreateHistorySql, {}}, {kCreateAlembicSql, {}}};
}

std::vector<BoundStatement> RecordAdoption(const std::vector<Migration>& chain, int applied,
                                           const std::string& applied_by) {
  std::vector<BoundStatement> out;
  out.reserve(static_cast<size_t>(applied));
  for (int i = 0; i < applied; ++i) {
    out.push_back(InsertHistory(chain[i], i + 1, std::nullopt, true, 0,
                                absl::StrCat("alembic (adopted by ", applied_by, ")")));
  }
  return out;
}

std::vector<BoundStatement> RecordStep(const std::vector<Migration>& chain, const Step& step,
                                       const std::string& applied_by, int64_t duration_ms) {
  std::vector<BoundStatement> out;
  if (step.up) {
    out.push_back(
        InsertHistory(*step.migration, step.seq, step.fixtures, false, duration_ms, applied_by));
  } else {
    out.push_back({kDeleteHistorySql, {step.migration->id}});
  }
  out.push_back({kClearAlembicSql, {}});
  const int position = step.up ? step.seq : step.seq - 1;
  if (position > 0) out.push_back({kSetAlembicSql, {chain[position - 1].id}});
  return out;
}

std::vector<std::string> StepStatements(const Step& step) {
  std::vector<std::string> out;
  const Migration& m = *step.migration;
  if (step.up) {
    AppendSplit(m.up, &out);
    if (step.fixtures) AppendSplit(m.fixtures_up, &out);
  } else {
    if (step.fixtures) AppendSplit(m.fixtures_down, &out);
    AppendSplit(m.down.value_or(""), &out);
  }
  return out;
}

std::string SqlLiteral(const std::optional<std::string>& value) {
  if (!value) return "NULL";
  std::string out = "'";
  for (char c : *value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string Render(const BoundStatement& statement) {
  std::string out;
  const std::string& sql = statement.sql;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() &&
        std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t j = i + 1;
      int number = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) {
        number = number * 10 + (sql[j] - '0');
        ++j;
      }
      if (number >= 1 && number <= static_cast<int>(statement.params.size())) {
        out += SqlLiteral(statement.params[number - 1]);
        i = j - 1;
        continue;
      }
    }
    out.push_back(sql[i]);
  }
  return out;
}

std::string RenderScript(const std::vector<Migration>& chain, const Plan& plan,
                         const std::string& applied_by) {
  std::string out = absl::StrCat("-- zeva-migrate: from ", PositionName(chain, plan.from), " to ",
                                 PositionName(chain, plan.to),
                                 "\n-- Run with: psql -v ON_ERROR_STOP=1 -f FILE\n");
  auto emit = [&out](const std::vector<BoundStatement>& statements) {
    for (const auto& s : statements) absl::StrAppend(&out, Render(s), ";\n");
  };
  if (plan.steps.empty() && !plan.adopt) return absl::StrCat(out, "-- nothing to do\n");
  if (plan.adopt || (!plan.steps.empty() && plan.steps.front().up)) {
    absl::StrAppend(&out, "\nBEGIN;\n");
    emit(CreateBookkeeping());
    if (plan.adopt) emit(RecordAdoption(chain, plan.from, applied_by));
    absl::StrAppend(&out, "COMMIT;\n");
  }
  for (const Step& step : plan.steps) {
    const Migration& m = *step.migration;
    absl::StrAppend(&out, "\n-- ", step.up ? "up" : "down", " ", m.id, " (", m.file_name,
                    "): ", m.description, step.fixtures ? " [with fixtures]" : "", "\n");
    if (m.transactional) absl::StrAppend(&out, "BEGIN;\n");
    for (const auto& statement : StepStatements(step)) absl::StrAppend(&out, Terminated(statement));
    if (!m.transactional) absl::StrAppend(&out, "BEGIN;\n");
    emit(RecordStep(chain, step, applied_by, 0));
    absl::StrAppend(&out, "COMMIT;\n");
  }
  return out;
}

}  // namespace zeva::migrate
