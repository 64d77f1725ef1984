#include "domain/vehicle_model.h"

#include <catch2/catch.hpp>

using zeva::domain::ValidateVehicleModel;

namespace {
std::string MessageOf(const absl::StatusOr<zeva::domain::VehicleModel>& result) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}
}  // namespace

TEST_CASE("a valid model is normalised and priced", "[validation]") {
  auto model = ValidateVehicleModel("  Tesla ", "Model 3", "bev", " Long Range ", 500);
  REQUIRE(model.ok());
  CHECK(model->make == "Tesla");
  CHECK(model->trim == "Long Range");
  CHECK(model->type == "BEV");
  CHECK(model->credit_hundredths == 361);
}

TEST_CASE("every text field must be present, short and printable", "[validation]") {
  CHECK(MessageOf(ValidateVehicleModel("", "m", "BEV", "t", 100)) == "make must not be empty");
  CHECK(MessageOf(ValidateVehicleModel("a", " \t", "BEV", "t", 100)) == "model must not be empty");
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "", "t", 100)) == "type must not be empty");
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "BEV", "", 100)) == "trim must not be empty");
  CHECK(MessageOf(ValidateVehicleModel(std::string(101, 'x'), "m", "BEV", "t", 100))
            .find("make is longer than 100") != std::string::npos);
  CHECK(ValidateVehicleModel(std::string(100, 'x'), "m", "BEV", "t", 100).ok());
  // 100 characters of two bytes each are still 100 characters.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";
  CHECK(ValidateVehicleModel("a", accents, "BEV", "t", 100).ok());
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "BEV", "bad\x01", 100)).find("trim") == 0);
  CHECK(MessageOf(ValidateVehicleModel("a", "\xC3", "BEV", "t", 100)) ==
        "model is not valid UTF-8");
  // DEL, a C1 control, a bidi override, and a value of invisible characters only.
  CHECK(MessageOf(ValidateVehicleModel("a\x7F", "m", "BEV", "t", 100)) ==
        "make contains control characters");
  CHECK(MessageOf(ValidateVehicleModel("a", "m\xC2\x9B", "BEV", "t", 100)) ==
        "model contains control characters");
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "BEV", "t\xE2\x80\xAE", 100)) ==
        "trim contains bidirectional formatting characters");
  CHECK(MessageOf(ValidateVehicleModel("\xE2\x80\x8B\xC2\xA0", "m", "BEV", "t", 100)) ==
        "make must not be empty");
}

TEST_CASE("range must be positive and sane; the model must earn credit", "[validation]") {
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "BEV", "t", 0)).find("range") == 0);
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "BEV", "t", 2001)).find("range") == 0);
  CHECK(ValidateVehicleModel("a", "m", "BEV", "t", 2000).ok());
  CHECK(MessageOf(ValidateVehicleModel("a", "m", "HEV", "t", 300)).find("type 'HEV'") == 0);
}
