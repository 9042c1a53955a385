// The [measure] table: defaults, every key settable, type and range checks.
#include <catch2/catch.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/core/errors.hpp"
#include "tests/config/config_test_support.hpp"

using namespace sb;
using Catch::Contains;
using sb::test::parse_config;

namespace {

sweep_plan with_measure(const std::string& measure) {
  return parse_config("[measure]\n" + measure +
                      "\n[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n[[variant]]\nname = \"dense\"\n");
}

}  // namespace

TEST_CASE("[measure] is optional and defaults to measure_settings{}", "[config]") {
  const auto plan = parse_config("[sweep]\nseq_len = 64\ndataset = \"test_config_dataset\"\n"
                                 "[[variant]]\nname = \"dense\"\n");
  const nlohmann::json got = plan.measure, want = measure_settings{};
  CHECK(got == want);
}

TEST_CASE("[measure] sets every field", "[config]") {
  const auto m = with_measure(R"(
warmup_calls = 0
warmup_min_s = 0.01
min_samples = 3
min_time_s = 0
target_rel_stdev = 0.5
max_samples = 10
max_time_s = 2
case_timeout_s = 60
ref_full_max_seq_len = 512
ref_rows_per_head = 64
threads = 2
cpu_memory_limit_bytes = 1_000_000_000
)").measure;
  CHECK(m.warmup_calls == 0);
  CHECK(m.warmup_min_s == Approx(0.01));
  CHECK(m.min_samples == 3);
  CHECK(m.min_time_s == 0);
  CHECK(m.target_rel_stdev == Approx(0.5));
  CHECK(m.max_samples == 10);
  CHECK(m.max_time_s == 2.0);  // an integer is accepted for a time
  CHECK(m.case_timeout_s == 60.0);
  CHECK(m.ref_full_max_seq_len == 512);
  CHECK(m.ref_rows_per_head == 64);
  CHECK(m.threads == 2);
  CHECK(m.cpu_memory_limit_bytes == 1000000000u);
}

TEST_CASE("[measure] values are checked for type and range", "[config]") {
  CHECK_THROWS_WITH(with_measure("min_samples = 0"),
                    Contains("quick.toml: measure.min_samples: value 0 out of range (allowed: 1 .."));
  CHECK_THROWS_WITH(with_measure("max_samples = 2.5"), Contains("measure.max_samples: expected an integer"));
  CHECK_THROWS_WITH(with_measure("case_timeout_s = 0"),
                    Contains("measure.case_timeout_s: value 0 out of range (allowed: > 0)"));
  CHECK_THROWS_WITH(with_measure("max_time_s = -1.0"), Contains("measure.max_time_s: value -1.0 out of range"));
  CHECK_THROWS_WITH(with_measure("warmup_min_s = nan"), Contains("measure.warmup_min_s"));
  CHECK_THROWS_WITH(with_measure("target_rel_stdev = 2"),
                    Contains("measure.target_rel_stdev: value 2 out of range (allowed: > 0 .. 1)"));
  CHECK_THROWS_WITH(with_measure("threads = \"all\""), Contains("measure.threads: expected an integer"));
  CHECK_THROWS_WITH(with_measure("cpu_memory_limit_bytes = -1"), Contains("measure.cpu_memory_limit_bytes"));
  CHECK_THROWS_WITH(with_measure("min_samples = 20\nmax_samples = 10"),
                    Contains("measure: min_samples (20) is above max_samples (10)"));
  CHECK_THROWS_WITH(parse_config("measure = 3\n[sweep]\nseq_len = 64\n[[variant]]\nname = \"dense\"\n"),
                    Contains("measure: expected a table"));
}
