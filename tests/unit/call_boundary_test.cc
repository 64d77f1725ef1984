// The pure pieces of the call boundary: request ids, client messages, wire numbers, and the
// statement timeout a lease gets.

#include <catch2/catch.hpp>

#include "db/connection.h"
#include "db/session.h"
#include "domain/refusal.h"
#include "services/grpc_status.h"
#include "services/request_id.h"
#include "services/wire_numbers.h"

using zeva::services::CleanRequestId;
using zeva::services::ClientMessage;

TEST_CASE("request ids are cleaned to legal metadata values", "[call_boundary]") {
  CHECK(CleanRequestId("3f2c1a9e-7b7d-4b1e-9a52-2f1c0d8e6b41") ==
        "3f2c1a9e-7b7d-4b1e-9a52-2f1c0d8e6b41");
  CHECK(CleanRequestId("\xC3\xA9") == "__");
  CHECK(CleanRequestId("a\tb c\x7F\x80\n") == "a_b_c___");
  CHECK(CleanRequestId(std::string("x\0y", 3)) == "x_y");
  CHECK(CleanRequestId(std::string(500, 'a')).size() == zeva::services::kMaxRequestIdBytes);
  for (unsigned c = 0; c < 256; ++c) {
    const std::string clean = CleanRequestId(std::string(1, static_cast<char>(c)));
    CHECK((clean[0] >= 0x21 && clean[0] <= 0x7E));
  }
}

TEST_CASE("only refusals' messages reach clients", "[call_boundary]") {
  const absl::Status refusal =
      zeva::domain::Refusal(absl::StatusCode::kNotFound, "no model with id 7");
  CHECK(ClientMessage(refusal) == "no model with id 7");
  absl::Status copied = refusal;
  CHECK(zeva::domain::IsRefusal(copied));
  // A lower layer's text, whatever its code, is replaced by the code's fixed message.
  const absl::Status sql = absl::AlreadyExistsError(
      "ERROR: duplicate key value violates unique constraint \"vehicles_org_make_key\"");
  CHECK(ClientMessage(sql) == "a record with these values already exists");
  CHECK(ClientMessage(absl::InvalidArgumentError("pqxx: bad conversion")) == "invalid request");
  CHECK(ClientMessage(absl::InternalError("SQL error 42P01: relation")) ==
        "internal error; the server log has the details");
  CHECK(ClientMessage(absl::UnavailableError("cannot connect to 10.0.0.5")).find("10.0") ==
        std::string::npos);
  CHECK_FALSE(zeva::domain::IsRefusal(absl::OkStatus()));
}

TEST_CASE("ids and amounts never wrap between uint64 and bigint", "[call_boundary]") {
  using zeva::services::OptionalId;
  using zeva::services::RequiredId;
  using zeva::services::ToWire;
  CHECK(*RequiredId("id", 7) == 7);
  CHECK(RequiredId("id", 0).status().message() == "id must be given");
  using zeva::services::AfterId;
  using zeva::services::IdText;
  CHECK(OptionalId(0) == 0);
  CHECK(*RequiredId("id", 9223372036854775807ULL) == 9223372036854775807LL);
  // Beyond bigint: a negative id no row has, one to one, so messages name the client's id.
  CHECK(*RequiredId("id", 9223372036854775808ULL) == -1);
  CHECK(OptionalId(UINT64_MAX) == INT64_MIN);
  for (uint64_t id : {uint64_t{1}, uint64_t{9223372036854775807ULL}, uint64_t{1} << 63,
                      (uint64_t{1} << 63) + 12345, UINT64_MAX - 1, UINT64_MAX}) {
    INFO(id);
    CHECK(IdText(OptionalId(id)) == std::to_string(id));
    if (id > 9223372036854775807ULL) CHECK(OptionalId(id) < 0);
  }
  // A cursor beyond bigint is after every row.
  CHECK(AfterId(UINT64_MAX) == INT64_MAX);
  CHECK(AfterId(42) == 42);
  CHECK(*ToWire(0, "x") == 0);
  CHECK(ToWire(-1, "vehicle 3 credits").status().code() == absl::StatusCode::kInternal);
  CHECK_FALSE(zeva::domain::IsRefusal(ToWire(-1, "x").status()));
}

TEST_CASE("a lease's statement timeout fits its deadline, set again only when needed",
          "[call_boundary]") {
  using zeva::db::StatementTimeoutFor;
  CHECK(StatementTimeoutFor(0, 10000) == 9000);  // none set yet: 90% of what is left
  CHECK(StatementTimeoutFor(9000, 10000) == 0);  // still fits
  CHECK(StatementTimeoutFor(9000, 9500) == 0);
  CHECK(StatementTimeoutFor(9000, 8000) == 7200);    // longer than what is left
  CHECK(StatementTimeoutFor(9000, 30000) == 27000);  // far shorter: would cancel too early
  CHECK(StatementTimeoutFor(0, 1) == 1);
  CHECK(StatementTimeoutFor(0, 0) == 1);
  CHECK(StatementTimeoutFor(0, int64_t{1} << 40) == 1932735282);  // PostgreSQL's largest * 0.9
}

TEST_CASE("every database connection detects a vanished peer in seconds", "[call_boundary]") {
  using zeva::db::ConnectionString;
  const std::string uri = ConnectionString("postgresql://u:p@db:5432/zeva", "zeva-server", 5);
  CHECK(uri ==
        "postgresql://u:p@db:5432/zeva?application_name=zeva-server&connect_timeout=5&"
        "keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=3&"
        "tcp_user_timeout=10000");
  // A URL with parameters of its own keeps them, and its own values win.
  CHECK(ConnectionString("postgresql://db/zeva?sslmode=require&keepalives_idle=30", "w", 2) ==
        "postgresql://db/zeva?sslmode=require&keepalives_idle=30&application_name=w&"
        "connect_timeout=2&keepalives=1&keepalives_interval=2&keepalives_count=3&"
        "tcp_user_timeout=10000");
  CHECK(ConnectionString("host=db dbname=zeva", "w", 2) ==
        "host=db dbname=zeva application_name=w connect_timeout=2 keepalives=1 "
        "keepalives_idle=5 keepalives_interval=2 keepalives_count=3 tcp_user_timeout=10000");
  // DB_PEER_TIMEOUT_MS scales them (keepalive steps of at least 1 s).
  CHECK(ConnectionString("host=db", "w", 2, 2000) ==
        "host=db application_name=w connect_timeout=2 keepalives=1 keepalives_idle=1 "
        "keepalives_interval=1 keepalives_count=3 tcp_user_timeout=2000");
  CHECK(ConnectionString("host=db", "w", 2, 60000) ==
        "host=db application_name=w connect_timeout=2 keepalives=1 keepalives_idle=30 "
        "keepalives_interval=12 keepalives_count=3 tcp_user_timeout=60000");
}
