// Summary statistics of a sample (latency samples, per-row metric values): median, percentiles
// with NumPy's default linear interpolation, mean and relative sample standard deviation.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace sb {

/// Summary of a sample. With count 0 every statistic is NaN; with count 1 rel_stdev is NaN.
struct sample_stats {
  double median = 0;
  double p10 = 0;
  double p90 = 0;
  double mean = 0;
  double rel_stdev = 0;  ///< sample standard deviation (n − 1 denominator) divided by the mean
  std::size_t count = 0;
};

/// The q-th percentile (q in percent, 0..100) by linear interpolation between the closest ranks,
/// as numpy.percentile's default ("linear"): position (n − 1)·q/100 in the sorted sample.
/// NaN for an empty sample or when any value is NaN (as NumPy). Throws std::invalid_argument for q
/// outside [0, 100].
[[nodiscard]] double percentile(std::vector<double> v, double q);

/// Median, p10, p90, mean, relative sample stdev and count of `values` (accumulated in fp64).
[[nodiscard]] sample_stats summarize(std::span<const double> values);

}  // namespace sb
