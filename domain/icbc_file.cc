#include "domain/icbc_file.h"

#include <csv.h>

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "domain/icbc.h"

namespace zeva::domain {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";
// What one row may hold before the file counts as broken: the memory bound of the reader.
constexpr size_t kMaxFieldBytes = size_t{1024} * 1024;
constexpr size_t kMaxFields = 1000;

enum Column { kVin, kMake, kModel, kModelYear, kHybrid, kElectric, kFuel, kColumns };
constexpr const char* kColumnNames[kColumns] = {
    "VIN",      "MAKE", "MODEL", "MODEL_YEAR", "HYBRID_VEHICLE_FLAG", "ELECTRIC_VEHICLE_FLAG",
    "FUEL_TYPE"};

// UTF-8 checked a byte at a time, so that a character may span two pieces of the file
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
class Utf8Check {
 public:
  bool Take(unsigned char c) {
    if (need_ == 0) {
      if (c == 0) return false;  // PostgreSQL's text cannot hold NUL
      if (c < 0x80) return true;
      if (c >= 0xC2 && c <= 0xDF) return Expect(1, 0x80, 0xBF);
      if (c == 0xE0) return Expect(2, 0xA0, 0xBF);
      if (c == 0xED) return Expect(2, 0x80, 0x9F);
      if (c >= 0xE1 && c <= 0xEF) return Expect(2, 0x80, 0xBF);
      if (c == 0xF0) return Expect(3, 0x90, 0xBF);
      if (c >= 0xF1 && c <= 0xF3) return Expect(3, 0x80, 0xBF);
      if (c == 0xF4) return Expect(3, 0x80, 0x8F);
      return false;
    }
    if (c < lo_ || c > hi_) return false;
    --need_;
    lo_ = 0x80;
    hi_ = 0xBF;
    return true;
  }
  bool complete() const { return need_ == 0; }

 private:
  bool Expect(int need, unsigned char lo, unsigned char hi) {
    need_ = need;
    lo_ = lo;
    hi_ = hi;
    return true;
  }
  int need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
};

}  // namespace

struct IcbcFileReader::State {
  RowSink sink;
  csv_parser parser{};
  bool bom_decided = false;
  std::string head;  // the first bytes, until they are known to be a BOM or not
  Utf8Check utf8;
  int64_t lines_done = 0;  // line feeds read so far
  std::vector<std::string> fields;
  int64_t record_newlines = 0;  // line feeds inside the current record's fields
  bool header_done = false;
  size_t header_fields = 0;
  int columns[kColumns] = {-1, -1, -1, -1, -1, -1, -1};
  std::vector<IcbcRow> pending;
  IcbcFileCounts counts;
  std::string failure;

  void Fail(std::string why) {
    if (failure.empty()) failure = std::move(why);
  }

  std::optional<std::string> Value(int column) const {
    if (columns[column] < 0) return std::nullopt;
    return std::string(absl::StripAsciiWhitespace(fields[static_cast<size_t>(columns[column])]));
  }

  void Header(int64_t line) {
    header_done = true;
    header_fields = fields.size();
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(fields[i]));
      for (int c = 0; c < kColumns; ++c) {
        if (name == kColumnNames[c] && columns[c] < 0) columns[c] = static_cast<int>(i);
      }
    }
    for (int c : {kVin, kMake, kModel, kModelYear}) {
      if (columns[c] < 0) {
        return Fail(
            absl::StrCat("the header (line ", line, ") has no ", kColumnNames[c], " column"));
      }
    }
  }

  void Reject(int64_t line, std::string why) {
    ++counts.rows_rejected;
    if (counts.errors.size() < kIcbcMaxListedErrors) {
      counts.errors.push_back(IcbcLineError{line, std::move(why)});
    }
  }

  void Row(int64_t line) {
    ++counts.rows_read;
    if (fields.size() != header_fields) {
      return Reject(line, absl::StrCat("the row has ", fields.size(), " fields, the header has ",
                                       header_fields));
    }
    IcbcRowValues values{*Value(kVin),   *Value(kMake),    *Value(kModel), *Value(kModelYear),
                         Value(kHybrid), Value(kElectric), Value(kFuel)};
    IcbcRowVerdict verdict = JudgeIcbcRow(values);
    switch (verdict.kind) {
      case IcbcRowVerdict::Kind::kKept:
        ++counts.rows_kept;
        pending.push_back(IcbcRow{line, std::move(verdict.vin), std::move(values.make),
                                  std::move(values.model), verdict.model_year});
        break;
      case IcbcRowVerdict::Kind::kRejected:
        Reject(line, std::move(verdict.reason));
        break;
      case IcbcRowVerdict::Kind::kDropped:
        break;
    }
  }

  // libcsv's callbacks (C: they must not throw, hence `pending`).
  static void OnField(void* data, size_t size, void* self) {
    auto* s = static_cast<State*>(self);
    if (!s->failure.empty()) return;
    if (s->fields.size() >= kMaxFields) {
      return s->Fail(absl::StrCat("the row ending on line ", s->lines_done + 1, " has more than ",
                                  kMaxFields, " fields"));
    }
    const char* bytes = data == nullptr ? "" : static_cast<const char*>(data);
    s->record_newlines += std::count(bytes, bytes + size, '\n');
    s->fields.emplace_back(bytes, size);
  }
  static void OnRecord(int /*terminator*/, void* self) {
    auto* s = static_cast<State*>(self);
    if (s->failure.empty()) {
      // The record ends on the line being read; it starts as many lines earlier as its fields
      // hold line feeds. libcsv skips empty lines, so they never make a record.
      const int64_t line = s->lines_done + 1 - s->record_newlines;
      if (!s->header_done) {
        s->Header(line);
      } else {
        s->Row(line);
      }
    }
    s->fields.clear();
    s->record_newlines = 0;
  }

  // Bytes after the BOM, split after each line feed so that libcsv's callbacks know the line.
  void Process(absl::string_view bytes) {
    while (!bytes.empty() && failure.empty()) {
      const size_t newline = bytes.find('\n');
      const size_t n = newline == absl::string_view::npos ? bytes.size() : newline + 1;
      const absl::string_view segment = bytes.substr(0, n);
      bytes.remove_prefix(n);
      for (char c : segment) {
        if (!utf8.Take(static_cast<unsigned char>(c))) {
          return Fail(
              absl::StrCat("line ", lines_done + 1, " is not valid UTF-8 (or holds a NUL byte)"));
        }
      }
      if (csv_parse(&parser, segment.data(), segment.size(), OnField, OnRecord, this) !=
          segment.size()) {
        return Fail(absl::StrCat("line ", lines_done + 1,
                                 " cannot be read as CSV: ", csv_strerror(csv_error(&parser))));
      }
      if (csv_get_buffer_size(&parser) > kMaxFieldBytes) {
        return Fail(
            absl::StrCat("a field that ends after line ", lines_done + 1, " is longer than 1 MiB"));
      }
      if (newline != absl::string_view::npos) ++lines_done;
    }
  }

  // Line feeds inside the field libcsv still holds (an open quote).
  int64_t OpenFieldNewlines() const {
    const char* buffer = reinterpret_cast<const char*>(parser.entry_buf);
    return buffer == nullptr ? 0 : std::count(buffer, buffer + parser.entry_pos, '\n');
  }

  void Deliver() {
    std::vector<IcbcRow> rows;
    rows.swap(pending);
    for (const IcbcRow& row : rows) sink(row);
  }
};

IcbcFileReader::IcbcFileReader(RowSink sink) : state_(std::make_unique<State>()) {
  state_->sink = std::move(sink);
  // Strict: a quote inside an unquoted field, or text after a closing quote, is not RFC 4180;
  // STRICT_FINI: a quoted field still open at the end fails the file.
  csv_init(&state_->parser, CSV_STRICT | CSV_STRICT_FINI);
}

IcbcFileReader::~IcbcFileReader() { csv_free(&state_->parser); }

bool IcbcFileReader::Feed(absl::string_view bytes) {
  State& s = *state_;
  if (!s.failure.empty()) return false;
  if (!s.bom_decided) {
    const size_t take = std::min(bytes.size(), kBom.size() - s.head.size());
    s.head.append(bytes.data(), take);
    bytes.remove_prefix(take);
    const bool maybe_bom = absl::string_view(kBom).substr(0, s.head.size()) == s.head;
    if (s.head.size() < kBom.size() && maybe_bom) return true;  // wait for more
    s.bom_decided = true;
    s.Process(s.head == kBom ? absl::string_view() : absl::string_view(s.head));
  }
  s.Process(bytes);
  s.Deliver();
  return s.failure.empty();
}

bool IcbcFileReader::Finish() {
  State& s = *state_;
  if (!s.failure.empty()) return false;
  if (!s.bom_decided) {
    s.bom_decided = true;
    s.Process(s.head == kBom ? absl::string_view() : absl::string_view(s.head));
  }
  if (s.failure.empty() && !s.utf8.complete()) {
    s.Fail(absl::StrCat("line ", s.lines_done + 1,
                        " is not valid UTF-8 (the file ends inside a "
                        "character)"));
  }
  if (s.failure.empty()) {
    const int64_t start = s.lines_done + 1 - s.record_newlines - s.OpenFieldNewlines();
    if (csv_fini(&s.parser, State::OnField, State::OnRecord, &s) != 0) {
      s.Fail(
          absl::StrCat("the quoted field of the row starting on line ", start, " is never closed"));
    }
  }
  if (s.failure.empty() && !s.header_done) s.Fail("the file has no header row");
  if (s.failure.empty()) s.Deliver();
  return s.failure.empty();
}

const std::string& IcbcFileReader::failure() const { return state_->failure; }

const IcbcFileCounts& IcbcFileReader::counts() const { return state_->counts; }

}  // namespace zeva::domain
