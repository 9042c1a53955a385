// Tests for percentiles and sample summaries against values computed by hand with NumPy's default
// ("linear") rule: position (n − 1)·q/100 in the sorted sample, interpolated between neighbours.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "harness/metrics/sample_stats.hpp"

using namespace sb;

TEST_CASE("percentile interpolates linearly like numpy.percentile", "[metrics]") {
  // np.percentile([1,2,3,4], 10): pos 0.3 → 1 + 0.3·(2 − 1) = 1.3; 90: pos 2.7 → 3.7; 50: 2.5.
  CHECK(percentile({4, 2, 1, 3}, 10) == Approx(1.3).epsilon(1e-14));
  CHECK(percentile({4, 2, 1, 3}, 90) == Approx(3.7).epsilon(1e-14));
  CHECK(percentile({4, 2, 1, 3}, 50) == Approx(2.5).epsilon(1e-14));
  // np.percentile([15,20,35,40,50], 40): pos 1.6 → 20 + 0.6·15 = 29.
  CHECK(percentile({50, 15, 40, 20, 35}, 40) == Approx(29.0).epsilon(1e-14));
  // np.percentile([10,20], 10) = 11 (nearest-rank would give 10).
  CHECK(percentile({20, 10}, 10) == Approx(11.0).epsilon(1e-14));
  CHECK(percentile({3, 1, 2}, 0) == 1.0);
  CHECK(percentile({3, 1, 2}, 100) == 3.0);
  CHECK(percentile({7}, 10) == 7.0);
}

TEST_CASE("percentile of an empty or NaN-holding sample is NaN; q outside [0,100] throws", "[metrics]") {
  CHECK(std::isnan(percentile({}, 50)));
  CHECK(std::isnan(percentile({1.0, std::nan(""), 3.0}, 50)));
  CHECK_THROWS_AS(percentile({1.0}, -1), std::invalid_argument);
  CHECK_THROWS_AS(percentile({1.0}, 100.5), std::invalid_argument);
}

TEST_CASE("summarize gives median, p10, p90, mean and relative sample stdev", "[metrics]") {
  const std::vector<double> x{3, 1, 4, 2};
  const sample_stats s = summarize(x);
  CHECK(s.count == 4);
  CHECK(s.median == Approx(2.5).epsilon(1e-14));
  CHECK(s.p10 == Approx(1.3).epsilon(1e-14));
  CHECK(s.p90 == Approx(3.7).epsilon(1e-14));
  CHECK(s.mean == Approx(2.5).epsilon(1e-14));
  // sample variance (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3; stdev/mean = sqrt(5/3)/2.5 = 0.516397779494...
  CHECK(s.rel_stdev == Approx(0.5163977794943222).epsilon(1e-12));
}

TEST_CASE("summarize of an empty sample has count 0 and NaNs; one sample has no stdev", "[metrics]") {
  const sample_stats e = summarize({});
  CHECK(e.count == 0);
  CHECK(std::isnan(e.median));
  CHECK(std::isnan(e.p10));
  CHECK(std::isnan(e.p90));
  CHECK(std::isnan(e.mean));
  CHECK(std::isnan(e.rel_stdev));

  const std::vector<double> one{0.25};
  const sample_stats s = summarize(one);
  CHECK(s.count == 1);
  CHECK(s.median == 0.25);
  CHECK(s.p10 == 0.25);
  CHECK(s.mean == 0.25);
  CHECK(std::isnan(s.rel_stdev));
}

TEST_CASE("summarize keeps a small spread on a large mean (two-pass variance)", "[metrics]") {
  // 1e9 + {1, 2, 3}: sample stdev 1, mean 1e9 + 2.
  const std::vector<double> x{1e9 + 1, 1e9 + 2, 1e9 + 3};
  const sample_stats s = summarize(x);
  CHECK(s.rel_stdev == Approx(1.0 / (1e9 + 2)).epsilon(1e-9));
}
