// [measure] allow_tf32: the switch the CUDA device path reads for fp32 GEMMs (cuda::case_options).
#include <catch2/catch.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/core/errors.hpp"
#include "tests/config/config_test_support.hpp"

using namespace sb;
using Catch::Contains;
using sb::test::parse_config;

namespace {

sweep_plan with_measure_key(const std::string& line) {
  return parse_config("[measure]\n" + line +
                      "\n[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n[[variant]]\nname = \"dense\"\n");
}

}  // namespace

TEST_CASE("[measure] allow_tf32 is off by default and settable", "[config][tf32]") {
  CHECK_FALSE(measure_settings{}.allow_tf32);
  CHECK(with_measure_key("allow_tf32 = true").measure.allow_tf32);
  CHECK_FALSE(with_measure_key("allow_tf32 = false").measure.allow_tf32);
}

TEST_CASE("[measure] allow_tf32 must be a boolean", "[config][tf32]") {
  CHECK_THROWS_WITH(with_measure_key("allow_tf32 = 1"), Contains("measure.allow_tf32"));
  CHECK_THROWS_WITH(with_measure_key("allow_tf32 = \"yes\""), Contains("measure.allow_tf32"));
}

TEST_CASE("measure_settings round-trips allow_tf32 through JSON (the worker's case spec)", "[config][tf32]") {
  measure_settings m;
  m.allow_tf32 = true;
  const nlohmann::json j = m;
  CHECK(j.at("allow_tf32") == true);
  CHECK(j.get<measure_settings>().allow_tf32);
}
