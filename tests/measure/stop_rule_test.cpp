// The sampling stop rule shared by the CPU timer and the CUDA-event timer, checked as a pure function.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "harness/measure/stop_rule.hpp"

using namespace sb;

namespace {
measure_settings settings() {
  measure_settings m;
  m.warmup_calls = 3;
  m.warmup_min_s = 0.05;
  m.min_samples = 5;
  m.min_time_s = 0.2;
  m.target_rel_stdev = 0.02;
  m.max_samples = 50;
  m.max_time_s = 5.0;
  return m;
}
double sum_s(const std::vector<double>& ms) {
  double s = 0;
  for (double x : ms) s += x * 1e-3;
  return s;
}
}  // namespace

TEST_CASE("relative_stdev is the sample stdev over the mean", "[measure][stop_rule]") {
  CHECK(std::isinf(relative_stdev(std::vector<double>{})));
  CHECK(std::isinf(relative_stdev(std::vector<double>{3.0})));
  CHECK(std::isinf(relative_stdev(std::vector<double>{0.0, 0.0})));
  CHECK(relative_stdev(std::vector<double>{2.0, 2.0, 2.0}) == 0.0);
  // mean 2, sample variance ((1)^2 + 0 + (1)^2) / 2 = 1
  CHECK(relative_stdev(std::vector<double>{1.0, 2.0, 3.0}) == Approx(0.5));
}

TEST_CASE("warm-up needs both the calls and the time", "[measure][stop_rule]") {
  const auto m = settings();
  CHECK_FALSE(warmup_done(0, 0.0, m));
  CHECK_FALSE(warmup_done(2, 1.0, m));
  CHECK_FALSE(warmup_done(10, 0.01, m));
  CHECK(warmup_done(3, 0.05, m));
}

TEST_CASE("sampling stops only after enough samples and time, once the spread is small", "[measure][stop_rule]") {
  const auto m = settings();
  std::vector<double> ms(4, 100.0);  // 0.4 s of identical samples, one short of min_samples
  CHECK_FALSE(sampling_stop_reason(ms, sum_s(ms), m).has_value());
  ms.push_back(100.0);
  REQUIRE(sampling_stop_reason(ms, sum_s(ms), m).has_value());
  CHECK(*sampling_stop_reason(ms, sum_s(ms), m) == "converged");

  std::vector<double> fast(10, 1.0);  // enough samples but only 10 ms of sampled time
  CHECK_FALSE(sampling_stop_reason(fast, sum_s(fast), m).has_value());

  std::vector<double> noisy;
  for (int i = 0; i < 20; ++i) noisy.push_back(i % 2 ? 10.0 : 20.0);  // 0.3 s, ~35 % spread
  CHECK_FALSE(sampling_stop_reason(noisy, sum_s(noisy), m).has_value());
}

TEST_CASE("sampling stops at the hard caps", "[measure][stop_rule]") {
  const auto m = settings();
  std::vector<double> noisy;
  for (int i = 0; i < m.max_samples; ++i) noisy.push_back(i % 2 ? 1.0 : 2.0);
  REQUIRE(sampling_stop_reason(noisy, sum_s(noisy), m).has_value());
  CHECK(*sampling_stop_reason(noisy, sum_s(noisy), m) == "max_samples");

  const std::vector<double> slow_noisy{2000.0, 3500.0};  // 5.5 s ≥ max_time but only 2 < min(5, 3) samples
  CHECK_FALSE(sampling_stop_reason(slow_noisy, sum_s(slow_noisy), m).has_value());
  const std::vector<double> three{2000.0, 3500.0, 1000.0};
  CHECK(*sampling_stop_reason(three, sum_s(three), m) == "max_time");

  const std::vector<double> one_long_call{10500.0};  // one call beyond 2 · max_time
  REQUIRE(sampling_stop_reason(one_long_call, sum_s(one_long_call), m).has_value());
  CHECK(*sampling_stop_reason(one_long_call, sum_s(one_long_call), m) == "max_time");
}
