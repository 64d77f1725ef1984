#pragma once
// Reads an ICBC extract as a stream of byte pieces of any size (upload chunks), with memory
// bounded by the longest row, never the file: an optional UTF-8 byte-order mark, UTF-8
// checked across pieces, RFC 4180 CSV parsed by libcsv (Debian's libcsv-dev: commas, double
// quotes, CRLF or LF), the header's columns found by name, then every data row judged by
// domain/icbc.h. Kept rows go to the sink with the line where they start (the header is line
// 1); rejected ones are counted and the first 100 listed. Pure: no I/O.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace zeva::domain {

struct IcbcRow {
  int64_t line = 0;
  std::string vin, make, model;
  int32_t model_year = 0;
};

struct IcbcLineError {
  int64_t line = 0;
  std::string message;
};

struct IcbcFileCounts {
  int64_t rows_read = 0;  // data rows: kept + dropped + rejected
  int64_t rows_kept = 0;
  int64_t rows_rejected = 0;
  std::vector<IcbcLineError> errors;  // the first 100 rejected rows, by line
};

class IcbcFileReader {
 public:
  // Receives the kept rows of each Feed (and of Finish), in file order, after libcsv returned:
  // it may throw.
  using RowSink = std::function<void(const IcbcRow& row)>;
  explicit IcbcFileReader(RowSink sink);
  ~IcbcFileReader();
  IcbcFileReader(const IcbcFileReader&) = delete;
  IcbcFileReader& operator=(const IcbcFileReader&) = delete;

  // The next bytes of the file. False once the file has failed (see failure()); later calls
  // do nothing.
  bool Feed(absl::string_view bytes);
  // The end of the file: false when it failed (an unclosed quote, a truncated UTF-8 sequence,
  // no header).
  bool Finish();

  // Why the file fails the import, one sentence naming the line; "" while it has not.
  const std::string& failure() const;
  const IcbcFileCounts& counts() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace zeva::domain
