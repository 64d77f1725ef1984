#include "migrate/migration.h"

#include <openssl/evp.h>

#include <cctype>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace zeva::migrate {

namespace {

constexpr size_t kMaxIdLength = 32;  // alembic_version.version_num is varchar(32)
constexpr char kSectionPrefix[] = "-- migrate:";

bool IsIdCharacter(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

absl::Status LineError(const std::string& file_name, int line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(file_name, ":", line, ": ", what));
}

// "-- key: value" where key is one lowercase word; nullopt for any other line.
std::optional<std::pair<std::string, std::string>> HeaderField(absl::string_view line) {
  if (!absl::ConsumePrefix(&line, "-- ")) return std::nullopt;
  const auto colon = line.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  for (char c : line.substr(0, colon)) {
    if (c < 'a' || c > 'z') return std::nullopt;
  }
  return std::make_pair(std::string(line.substr(0, colon)),
                        std::string(absl::StripAsciiWhitespace(line.substr(colon + 2))));
}

// Length of a dollar-quote tag ($tag$ or $$) starting at sql[i], or 0 if there is none.
size_t DollarTagLength(const std::string& sql, size_t i) {
  if (sql[i] != '$') return 0;
  size_t j = i + 1;
  while (j < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) {
    ++j;
  }
  if (j < sql.size() && sql[j] == '$' &&
      (j == i + 1 || !std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
    return j - i + 1;
  }
  return 0;
}

}  // namespace

std::vector<std::string> SplitStatements(const std::string& sql) {
  std::vector<std::string> statements;
  std::string current;
  bool has_code = false;
  size_t i = 0;
  const size_t n = sql.size();
  auto flush = [&] {
    if (has_code) statements.emplace_back(absl::StripAsciiWhitespace(current));
    current.clear();
    has_code = false;
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string::npos ? n : end;
      current.append(sql, i, stop - i);
      i = stop;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int depth = 0;
      size_t j = i;
      while (j < n) {
        if (sql[j] == '/' && j + 1 < n && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && j + 1 < n && sql[j + 1] == '/') {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      current.append(sql, i, j - i);
      i = j;
      continue;
    }
    if (c == '\'' || c == '"') {
      // E'...' strings allow backslash escapes; doubled quotes escape everywhere.
      const bool backslashes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                               (i < 2 || !IsIdCharacter(sql[i - 2]));
      size_t j = i + 1;
      while (j < n) {
        if (backslashes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == c) {
          if (j + 1 < n && sql[j + 1] == c) {
            j += 2;
          } else {
            ++j;
            break;
          }
        } else {
          ++j;
        }
      }
      j = std::min(j, n);
      current.append(sql, i, j - i);
      has_code = true;
      i = j;
      continue;
    }
    if (const size_t tag = DollarTagLength(sql, i);
        tag > 0 && (i == 0 || !IsIdCharacter(sql[i - 1]))) {
      const std::string delimiter = sql.substr(i, tag);
      const size_t close = sql.find(delimiter, i + tag);
      const size_t stop = close == std::string::npos ? n : close + tag;
      current.append(sql, i, stop - i);
      has_code = true;
      i = stop;
      continue;
    }
    if (c == ';') {
      flush();
      ++i;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(c))) has_code = true;
    current.push_back(c);
    ++i;
  }
  flush();
  return statements;
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int k = 0; k < length; ++k) {
    out.push_back(kHex[digest[k] >> 4]);
    out.push_back(kHex[digest[k] & 0xf]);
  }
  return out;
}

std::string Checksum(const Migration& migration) {
  return Sha256Hex(absl::StrCat("transaction: ", migration.transactional ? "yes" : "none",
                                "\n-- migrate:up\n", migration.up, "\n-- migrate:fixtures-up\n",
                                migration.fixtures_up));
}

absl::StatusOr<Migration> ParseMigration(const std::string& file_name, const std::string& text) {
  Migration m;
  m.file_name = file_name;
  // NNNN_name.sql
  const auto underscore = file_name.find('_');
  if (underscore == std::string::npos || !absl::EndsWith(file_name, ".sql") ||
      !absl::SimpleAtoi(file_name.substr(0, underscore), &m.number) || m.number <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": a migration file is named NNNN_name.sql (NNNN > 0)"));
  }

  std::string normalised = absl::StrReplaceAll(text, {{"\r\n", "\n"}});
  if (absl::EndsWith(normalised, "\n")) normalised.pop_back();  // no empty last line
  std::map<std::string, std::string*> sections = {
      {"up", &m.up}, {"fixtures-up", &m.fixtures_up}, {"fixtures-down", &m.fixtures_down}};
  std::string down;
  sections["down"] = &down;
  std::map<std::string, bool> seen;
  std::string* current = nullptr;
  bool has_id = false, has_revises = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(normalised, '\n')) {
    ++line_number;
    if (absl::StartsWith(line, kSectionPrefix)) {
      const std::string name(absl::StripAsciiWhitespace(line.substr(sizeof kSectionPrefix - 1)));
      auto it = sections.find(name);
      if (it == sections.end()) {
        return LineError(
            file_name, line_number,
            absl::StrCat("unknown section '", name, "' (up, down, fixtures-up, fixtures-down)"));
      }
      if (seen[name]) {
        return LineError(file_name, line_number, absl::StrCat("section '", name, "' twice"));
      }
      seen[name] = true;
      current = it->second;
      continue;
    }
    if (current != nullptr) {
      absl::StrAppend(current, line, "\n");
      continue;
    }
    // The header: fields, comments and blank lines only.
    if (auto field = HeaderField(line)) {
      const auto& [key, value] = *field;
      if (key == "id") {
        m.id = value;
        has_id = true;
      } else if (key == "revises") {
        m.revises = value;
        has_revises = true;
      } else if (key == "description") {
        m.description = value;
      } else if (key == "transaction") {
        if (value != "none" && value != "yes") {
          return LineError(file_name, line_number, "transaction: is `yes` (default) or `none`");
        }
        m.transactional = value == "yes";
      } else {
        return LineError(file_name, line_number,
                         absl::StrCat("unknown header field '", key,
                                      "' (id, revises, description, transaction)"));
      }
      continue;
    }
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (!stripped.empty() && !absl::StartsWith(stripped, "--")) {
      return LineError(file_name, line_number, "SQL before the `-- migrate:up` line");
    }
  }
  if (!has_id || m.id.empty()) return LineError(file_name, 1, "missing `-- id:` header");
  if (m.id.size() > kMaxIdLength) {
    return LineError(file_name, 1, absl::StrCat("id '", m.id, "' is longer than 32 characters"));
  }
  for (char c : m.id) {
    if (!IsIdCharacter(c)) {
      return LineError(file_name, 1,
                       absl::StrCat("id '", m.id, "' may hold only letters, digits, _ - ."));
    }
  }
  if (m.id == "base" || m.id == "head") {
    return LineError(file_name, 1, "ids `base` and `head` are reserved");
  }
  if (!has_revises || m.revises.empty()) {
    return LineError(file_name, 1, "missing `-- revises:` header (`base` for the first)");
  }
  if (!seen["up"]) return LineError(file_name, line_number, "missing `-- migrate:up` section");
  if (seen["down"]) m.down = down;
  m.checksum = Checksum(m);
  return m;
}

}  // namespace zeva::migrate
