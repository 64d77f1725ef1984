// The ICBC extract's rules (domain/icbc.h) and its streaming reader (domain/icbc_file.h).

#include "domain/icbc_file.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "domain/icbc.h"
#include "domain/refusal.h"

namespace {

using zeva::domain::IcbcFileReader;
using zeva::domain::IcbcRow;

struct Read {
  bool ok = false;
  std::string failure;
  std::vector<IcbcRow> rows;
  zeva::domain::IcbcFileCounts counts;
};

// Reads `file` fed in pieces of `piece` bytes (0: whole).
Read ReadFile(const std::string& file, size_t piece = 0) {
  Read out;
  IcbcFileReader reader([&](const IcbcRow& row) { out.rows.push_back(row); });
  bool ok = true;
  if (piece == 0) piece = file.size() + 1;
  for (size_t at = 0; at < file.size() && ok; at += piece) ok = reader.Feed(file.substr(at, piece));
  out.ok = ok && reader.Finish();
  out.failure = reader.failure();
  out.counts = reader.counts();
  return out;
}

constexpr char kVin1[] = "5YJ3E1EA0KF000001";
constexpr char kVin2[] = "5YJ3E1EA0KF000002";

}  // namespace

TEST_CASE("VINs: 17 characters of the alphabet without I, O and Q", "[icbc][unit]") {
  CHECK(zeva::domain::IsValidVin(kVin1));
  CHECK_FALSE(zeva::domain::IsValidVin("5YJ3E1EA0KF00000"));    // 16
  CHECK_FALSE(zeva::domain::IsValidVin("5YJ3E1EA0KF0000011"));  // 18
  CHECK_FALSE(zeva::domain::IsValidVin("5YJ3E1EA0KF00000I"));   // I
  CHECK_FALSE(zeva::domain::IsValidVin("5YJ3E1EA0KF00000O"));   // O
  CHECK_FALSE(zeva::domain::IsValidVin("5YJ3E1EA0KF00000Q"));   // Q
  CHECK_FALSE(zeva::domain::IsValidVin("5yj3e1ea0kf000001"));   // lower case
  CHECK(zeva::domain::NormalizeVin("  5yj3e1ea0kf000001\t") == kVin1);
}

TEST_CASE("Start: each field's rule", "[icbc][unit]") {
  using zeva::domain::CheckIcbcStart;
  using zeva::domain::IcbcStartInput;
  const std::string sha(64, 'a');
  auto field = [](const absl::Status& s) { return zeva::domain::RefusalField(s); };
  CHECK(CheckIcbcStart(IcbcStartInput{"a.csv", 2024, 2, 29, 10, sha}, 2024, 3, 1).ok());
  CHECK(field(CheckIcbcStart(IcbcStartInput{"", 2024, 1, 1, 10, sha}, 2024, 3, 1)) == "file_name");
  CHECK(field(CheckIcbcStart(IcbcStartInput{std::string(256, 'x'), 2024, 1, 1, 10, sha}, 2024, 3,
                             1)) == "file_name");
  CHECK(
      CheckIcbcStart(IcbcStartInput{std::string(255, 'x'), 2024, 1, 1, 10, sha}, 2024, 3, 1).ok());
  CHECK(field(CheckIcbcStart(IcbcStartInput{"a", 2023, 2, 29, 10, sha}, 2024, 3, 1)) ==
        "current_to");
  CHECK(field(CheckIcbcStart(IcbcStartInput{"a", 2024, 3, 2, 10, sha}, 2024, 3, 1)) ==
        "current_to");
  CHECK(field(CheckIcbcStart(IcbcStartInput{"a", 2024, 1, 1, 0, sha}, 2024, 3, 1)) == "size_bytes");
  CHECK(CheckIcbcStart(IcbcStartInput{"a", 2024, 1, 1, uint64_t{1} << 31, sha}, 2024, 3, 1).ok());
  CHECK(field(CheckIcbcStart(IcbcStartInput{"a", 2024, 1, 1, (uint64_t{1} << 31) + 1, sha}, 2024, 3,
                             1)) == "size_bytes");
  CHECK(field(CheckIcbcStart(IcbcStartInput{"a", 2024, 1, 1, 10, std::string(64, 'A')}, 2024, 3,
                             1)) == "sha256");
  CHECK(field(CheckIcbcStart(IcbcStartInput{"a", 2024, 1, 1, 10, std::string(63, 'a')}, 2024, 3,
                             1)) == "sha256");
}

TEST_CASE("Rows: the flag columns, model year and VIN rules, in order", "[icbc][unit]") {
  using Kind = zeva::domain::IcbcRowVerdict::Kind;
  using zeva::domain::IcbcRowValues;
  using zeva::domain::JudgeIcbcRow;
  auto kind = [](IcbcRowValues v) { return JudgeIcbcRow(v).kind; };
  // No optional column: every row goes on to the other rules.
  CHECK(kind({"5yj3e1ea0kf000001", "Tesla", "Model 3", "2019", {}, {}, {}}) == Kind::kKept);
  CHECK(JudgeIcbcRow({"5yj3e1ea0kf000001", "Tesla", "Model 3", "2019", {}, {}, {}}).vin == kVin1);
  // With optional columns.
  CHECK(kind({kVin1, "T", "M", "2020", "N", "N", "GASOLINE"}) == Kind::kDropped);
  CHECK(kind({kVin1, "T", "M", "2020", "n", "n", "gasoline"}) == Kind::kDropped);
  CHECK(kind({kVin1, "T", "M", "2020", "Y", "N", "GASOLINE"}) == Kind::kKept);
  CHECK(kind({kVin1, "T", "M", "2020", "N", "Y", "GASOLINE"}) == Kind::kKept);
  CHECK(kind({kVin1, "T", "M", "2020", "", "N", "GASOLINE"}) == Kind::kKept);  // empty: not N
  CHECK(kind({kVin1, "T", "M", "2020", "N", "N", "electric"}) == Kind::kKept);
  CHECK(kind({kVin1, "T", "M", "2020", "N", "N", "Hydrogen"}) == Kind::kKept);
  CHECK(kind({kVin1, "T", "M", "2020", "N", "N", "GASOLINEELECTRIC"}) == Kind::kKept);
  // A column the file lacks keeps no row.
  CHECK(kind({kVin1, "T", "M", "2020", {}, {}, "GASOLINE"}) == Kind::kDropped);
  CHECK(kind({kVin1, "T", "M", "2020", {}, "N", {}}) == Kind::kDropped);
  CHECK(kind({kVin1, "T", "M", "2020", {}, "", {}}) == Kind::kKept);
  // Dropped by the flags before the model year is looked at.
  CHECK(kind({kVin1, "T", "M", "x", "N", "N", "DIESEL"}) == Kind::kDropped);
  CHECK(kind({kVin1, "T", "M", "20x9", {}, {}, {}}) == Kind::kRejected);
  CHECK(kind({kVin1, "T", "M", "", {}, {}, {}}) == Kind::kRejected);
  CHECK(kind({kVin1, "T", "M", "2018", {}, {}, {}}) == Kind::kDropped);
  CHECK(kind({"", "T", "M", "2020", {}, {}, {}}) == Kind::kDropped);
  CHECK(kind({"", "T", "M", "x", {}, {}, {}}) == Kind::kRejected);  // rule 3 before the VIN
  CHECK(kind({"5YJ3E1EA0KF00000I", "T", "M", "2020", {}, {}, {}}) == Kind::kRejected);
  CHECK(kind({"SHORT", "T", "M", "2018", {}, {}, {}}) == Kind::kDropped);  // year first
}

TEST_CASE("Reader: BOM, CRLF, quoting, header by name, line numbers", "[icbc][unit]") {
  const std::string file =
      "\xEF\xBB\xBFmodel_year,Make,\"VIN\",Model,COLOUR\r\n"
      "2020,\" Tesla \",5yj3e1ea0kf000001,\"Model 3, \"\"long\"\" range\",red\r\n"
      "2021,Nissan,1N4AZ1CP0LC000002,\"Leaf\r\nPlus\",blue\r\n"
      "abc,Nissan,1N4AZ1CP0LC000003,Leaf,blue\r\n"
      "2021,Nissan,BADVIN,Leaf,blue\r\n"
      "2021,Nissan,1N4AZ1CP0LC000004,Leaf\r\n"
      "2017,Nissan,1N4AZ1CP0LC000005,Leaf,blue\r\n"
      "\r\n"
      "2022,Kia,KNDCE3LG0L5000006,Niro,green";  // no line end at the end
  for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{64}}) {
    INFO("piece " << piece);
    const Read r = ReadFile(file, piece);
    REQUIRE(r.ok);
    REQUIRE(r.rows.size() == 3);
    CHECK(r.rows[0].line == 2);
    CHECK(r.rows[0].vin == kVin1);
    CHECK(r.rows[0].make == "Tesla");
    CHECK(r.rows[0].model == "Model 3, \"long\" range");
    CHECK(r.rows[0].model_year == 2020);
    CHECK(r.rows[1].line == 3);
    CHECK(r.rows[1].model == "Leaf\r\nPlus");
    CHECK(r.rows[2].line == 10);
    CHECK(r.rows[2].vin == "KNDCE3LG0L5000006");
    CHECK(r.counts.rows_read == 7);
    CHECK(r.counts.rows_kept == 3);
    CHECK(r.counts.rows_rejected == 3);
    REQUIRE(r.counts.errors.size() == 3);
    CHECK(r.counts.errors[0].line == 5);
    CHECK(r.counts.errors[0].message.find("MODEL_YEAR") != std::string::npos);
    CHECK(r.counts.errors[1].line == 6);
    CHECK(r.counts.errors[1].message.find("VIN") != std::string::npos);
    CHECK(r.counts.errors[2].line == 7);
    CHECK(r.counts.errors[2].message.find("4 fields") != std::string::npos);
  }
}

TEST_CASE("Reader: LF only, flag columns, a repeated VIN is passed on twice", "[icbc][unit]") {
  const std::string file =
      std::string("VIN,MAKE,MODEL,MODEL_YEAR,HYBRID_VEHICLE_FLAG,FUEL_TYPE\n") + kVin1 +
      ",Tesla,3,2020,N,ELECTRIC\n" + kVin2 + ",Ford,F150,2020,N,GASOLINE\n" + kVin1 +
      ",Tesla,Y,2021,Y,\n";
  const Read r = ReadFile(file, 5);
  REQUIRE(r.ok);
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[0].line == 2);
  CHECK(r.rows[1].line == 4);
  CHECK(r.rows[1].model == "Y");
  CHECK(r.counts.rows_read == 3);
  CHECK(r.counts.rows_kept == 2);
  CHECK(r.counts.rows_rejected == 0);
}

TEST_CASE("Reader: what fails a file", "[icbc][unit]") {
  SECTION("a missing required column, named") {
    const Read r = ReadFile("VIN,MAKE,MODEL\nX,Y,Z\n");
    CHECK_FALSE(r.ok);
    CHECK(r.failure.find("MODEL_YEAR") != std::string::npos);
  }
  SECTION("invalid UTF-8, with its line") {
    const Read r = ReadFile(std::string("VIN,MAKE,MODEL,MODEL_YEAR\n") + kVin1 + ",T,M,2020\n" +
                                kVin2 + ",T\xC3(,M,2020\n",
                            3);
    CHECK_FALSE(r.ok);
    CHECK(r.failure.find("line 3") != std::string::npos);
    CHECK(r.failure.find("UTF-8") != std::string::npos);
  }
  SECTION("a character split between pieces is fine; a truncated one at the end is not") {
    const std::string ok =
        std::string("VIN,MAKE,MODEL,MODEL_YEAR\n") + kVin1 + ",Citro\xC3\xABn,M,2020\n";
    const Read r = ReadFile(ok, 1);
    REQUIRE(r.ok);
    CHECK(r.rows.at(0).make == "Citro\xC3\xABn");
    CHECK_FALSE(ReadFile(ok.substr(0, ok.size() - 12) + "\xC3").ok);
  }
  SECTION("overlong forms and surrogates are not UTF-8") {
    CHECK_FALSE(ReadFile("VIN,MAKE,MODEL,MODEL_YEAR\nA,\xC0\xAF,M,2020\n").ok);
    CHECK_FALSE(ReadFile("VIN,MAKE,MODEL,MODEL_YEAR\nA,\xED\xA0\x80,M,2020\n").ok);
  }
  SECTION("an unclosed quote, with the line where its row starts") {
    const Read r = ReadFile(std::string("VIN,MAKE,MODEL,MODEL_YEAR\n") + kVin1 + ",T,M,2020\n" +
                                kVin2 + ",\"T\nmore\nlines,M,2020\n",
                            4);
    CHECK_FALSE(r.ok);
    CHECK(r.failure.find("line 3") != std::string::npos);
    CHECK(r.failure.find("never closed") != std::string::npos);
  }
  SECTION("quoting that is not RFC 4180 (libcsv's strict mode), with its line") {
    const Read stray = ReadFile(std::string("VIN,MAKE,MODEL,MODEL_YEAR\n") + kVin1 + ",T,M,2020\n" +
                                kVin2 + ",Te\"sla,M,2020\n");
    CHECK_FALSE(stray.ok);
    CHECK(stray.failure.find("line 3") != std::string::npos);
    CHECK_FALSE(
        ReadFile(std::string("VIN,MAKE,MODEL,MODEL_YEAR\n") + kVin1 + ",\"T\"x,M,2020\n").ok);
  }
  SECTION("an empty file, or one with only a BOM") {
    CHECK_FALSE(ReadFile("").ok);
    CHECK_FALSE(ReadFile("\xEF\xBB\xBF").ok);
  }
  SECTION("a header alone is an empty extract, not a failure") {
    const Read r = ReadFile("\xEF\xBB\xBFVIN,MAKE,MODEL,MODEL_YEAR\r\n", 1);
    CHECK(r.ok);
    CHECK(r.counts.rows_read == 0);
  }
}

TEST_CASE("Reader: the first 100 rejected rows are listed, all are counted", "[icbc][unit]") {
  std::string file = "VIN,MAKE,MODEL,MODEL_YEAR\n";
  for (int i = 0; i < 150; ++i) file += "BAD,T,M,2020\n";
  const Read r = ReadFile(file, 1000);
  REQUIRE(r.ok);
  CHECK(r.counts.rows_rejected == 150);
  REQUIRE(r.counts.errors.size() == 100);
  CHECK(r.counts.errors.front().line == 2);
  CHECK(r.counts.errors.back().line == 101);
}
