#include "config/option_set.h"

#include <catch2/catch.hpp>
#include <map>

#include "tests/support/fake_env.h"

using zeva::config::EnvLookup;
using zeva::config::OptionSet;

using zeva::testing::FakeEnv;

namespace {
struct Settings {
  std::string name;
  int count = 0;
  bool flag = false;
  std::string mode;
};

OptionSet MakeOptions(Settings* s) {
  OptionSet options("usage: test");
  options.AddString("name", "NAME", "anon", "A name.", &s->name);
  options.AddInt("count", "COUNT", 3, 1, 10, "A count.", &s->count);
  options.AddBool("flag", "FLAG", false, "A flag.", &s->flag);
  options.AddChoice("mode", "", "a", {"a", "b"}, "A mode.", &s->mode);
  return options;
}
}  // namespace

TEST_CASE("defaults apply when neither flag nor environment is set", "[config]") {
  Settings s;
  bool help = true;
  auto positional = MakeOptions(&s).Parse({}, FakeEnv({}), &help);
  REQUIRE(positional.ok());
  CHECK(positional->empty());
  CHECK_FALSE(help);
  CHECK(s.name == "anon");
  CHECK(s.count == 3);
  CHECK_FALSE(s.flag);
  CHECK(s.mode == "a");
}

TEST_CASE("a flag beats the environment, which beats the default", "[config]") {
  Settings s;
  bool help = false;
  auto options = MakeOptions(&s);
  REQUIRE(options.Parse({}, FakeEnv({{"NAME", "env"}, {"COUNT", "7"}}), &help).ok());
  CHECK(s.name == "env");
  CHECK(s.count == 7);
  REQUIRE(options.Parse({"--name=flag", "--count", "9"}, FakeEnv({{"NAME", "env"}}), &help).ok());
  CHECK(s.name == "flag");
  CHECK(s.count == 9);
}

TEST_CASE("booleans accept the spellings deployments use", "[config]") {
  Settings s;
  bool help = false;
  auto options = MakeOptions(&s);
  for (const char* yes : {"True", "true", "1", "YES", "on"}) {
    REQUIRE(options.Parse({}, FakeEnv({{"FLAG", yes}}), &help).ok());
    CHECK(s.flag);
  }
  REQUIRE(options.Parse({"--flag"}, FakeEnv({}), &help).ok());
  CHECK(s.flag);
  REQUIRE(options.Parse({"--flag=false"}, FakeEnv({{"FLAG", "true"}}), &help).ok());
  CHECK_FALSE(s.flag);
  auto bad = options.Parse({}, FakeEnv({{"FLAG", "maybe"}}), &help);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(bad.status().message()).find("FLAG") != std::string::npos);
}

TEST_CASE("bad values and unknown flags are errors that name the option", "[config]") {
  Settings s;
  bool help = false;
  auto options = MakeOptions(&s);
  auto out_of_range = options.Parse({"--count=11"}, FakeEnv({}), &help);
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(std::string(out_of_range.status().message()).find("--count") != std::string::npos);
  auto not_a_number = options.Parse({"--count=x"}, FakeEnv({}), &help);
  REQUIRE_FALSE(not_a_number.ok());
  auto unknown = options.Parse({"--colour=red"}, FakeEnv({}), &help);
  REQUIRE_FALSE(unknown.ok());
  CHECK(std::string(unknown.status().message()) == "unknown option --colour");
  auto missing_value = options.Parse({"--name"}, FakeEnv({}), &help);
  REQUIRE_FALSE(missing_value.ok());
  auto bad_choice = options.Parse({"--mode=c"}, FakeEnv({}), &help);
  REQUIRE_FALSE(bad_choice.ok());
}

TEST_CASE("positional arguments and --help are reported", "[config]") {
  Settings s;
  bool help = false;
  auto options = MakeOptions(&s);
  auto positional = options.Parse({"upgrade", "--count=2", "head", "--help"}, FakeEnv({}), &help);
  REQUIRE(positional.ok());
  CHECK(*positional == std::vector<std::string>{"upgrade", "head"});
  CHECK(help);
  const std::string text = options.Help();
  CHECK(text.find("--count=VALUE  [env COUNT]  (default: 3)") != std::string::npos);
  CHECK(text.find("--flag  [env FLAG]  (default: false)") != std::string::npos);
  CHECK(text.find("One of: a, b.") != std::string::npos);
}

TEST_CASE("a secret's value never shows in --help, even after it was set", "[config]") {
  std::string password;
  OptionSet options("usage: test");
  options.AddSecret("password", "PASSWORD", "A secret.", &password);
  bool help = false;
  REQUIRE(options.Parse({}, FakeEnv({{"PASSWORD", "hunter2"}}), &help).ok());
  CHECK(password == "hunter2");
  CHECK(options.Help().find("hunter2") == std::string::npos);
}
