// Percentiles and summary statistics (see sample_stats.hpp).
#include "harness/metrics/sample_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace sb {
namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

/// Linear interpolation on an already sorted, NaN-free, non-empty sample.
double sorted_percentile(const std::vector<double>& sorted, double q) {
  const double pos = (static_cast<double>(sorted.size()) - 1.0) * q / 100.0;
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  // a + (b − a)·f, which is exact at f = 0 and keeps equal neighbours equal
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

void check_q(double q) {
  if (!(q >= 0.0 && q <= 100.0))
    throw std::invalid_argument("percentile: q must be in [0, 100], got " + std::to_string(q));
}

}  // namespace

double percentile(std::vector<double> v, double q) {
  check_q(q);
  if (v.empty()) return nan_value;
  if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) return nan_value;
  std::sort(v.begin(), v.end());
  return sorted_percentile(v, q);
}

sample_stats summarize(std::span<const double> values) {
  sample_stats s;
  s.count = values.size();
  if (values.empty()) {
    s.median = s.p10 = s.p90 = s.mean = s.rel_stdev = nan_value;
    return s;
  }
  std::vector<double> sorted(values.begin(), values.end());
  const bool has_nan = std::any_of(sorted.begin(), sorted.end(), [](double x) { return std::isnan(x); });
  if (has_nan) {
    s.median = s.p10 = s.p90 = nan_value;
  } else {
    std::sort(sorted.begin(), sorted.end());
    s.median = sorted_percentile(sorted, 50.0);
    s.p10 = sorted_percentile(sorted, 10.0);
    s.p90 = sorted_percentile(sorted, 90.0);
  }
  double sum = 0;
  for (double x : values) sum += x;
  s.mean = sum / static_cast<double>(values.size());
  if (values.size() < 2) {
    s.rel_stdev = nan_value;
  } else {
    // two-pass variance: no cancellation for samples with a large mean and a small spread
    double ss = 0;
    for (double x : values) ss += (x - s.mean) * (x - s.mean);
    const double stdev = std::sqrt(ss / static_cast<double>(values.size() - 1));
    s.rel_stdev = stdev / s.mean;
  }
  return s;
}

}  // namespace sb
