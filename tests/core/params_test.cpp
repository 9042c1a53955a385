// Tests for the parameter schema: defaults, coercion, range and choice validation.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "harness/core/errors.hpp"
#include "harness/core/params.hpp"

using namespace sb;

namespace {
param_schema example_schema() {
  return {
      {.name = "features", .type = param_type::integer, .default_value = std::int64_t{64}, .help = "m", .min = 1.0},
      {.name = "eps", .type = param_type::real, .default_value = 1e-3, .help = "", .min = 0.0, .max = 1.0},
      {.name = "kernel", .type = param_type::text, .default_value = std::string("softmax"), .help = "",
       .choices = {"softmax", "relu"}},
  };
}
}  // namespace

TEST_CASE("param_schema fills defaults and keeps given values", "[params]") {
  const auto set = example_schema().resolve("variant 'x'", {{"features", std::int64_t{8}}});
  CHECK(set.get_int("features") == 8);
  CHECK(set.get_real("eps") == Approx(1e-3));
  CHECK(set.get_text("kernel") == "softmax");
  CHECK(set.canonical() == "eps=0.001;features=8;kernel=softmax");
}

TEST_CASE("param_schema coerces an integer to a real and a whole real to an integer", "[params]") {
  const auto set = example_schema().resolve("v", {{"eps", std::int64_t{1}}, {"features", 16.0}});
  CHECK(set.get_real("eps") == 1.0);
  CHECK(set.get_int("features") == 16);
}

TEST_CASE("param_schema rejects unknown names, bad types, out-of-range values and bad choices", "[params]") {
  const auto s = example_schema();
  CHECK_THROWS_WITH(s.resolve("variant 'x'", {{"featurs", std::int64_t{1}}}),
                    Catch::Contains("unknown parameter 'featurs'") && Catch::Contains("features"));
  CHECK_THROWS_WITH(s.resolve("v", {{"features", std::string("many")}}), Catch::Contains("must be of type int"));
  CHECK_THROWS_WITH(s.resolve("v", {{"features", std::int64_t{0}}}), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(s.resolve("v", {{"eps", 2.0}}), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(s.resolve("v", {{"kernel", std::string("tanh")}}),
                    Catch::Contains("softmax, relu"));
  CHECK_THROWS_AS(s.resolve("v", {{"features", 1.5}}), config_error);
}

TEST_CASE("param_set round-trips through JSON", "[params]") {
  const auto set = example_schema().resolve("v", {});
  CHECK(param_set::from_json(set.to_json()).canonical() == set.canonical());
}
