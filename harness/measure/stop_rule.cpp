#include "harness/measure/stop_rule.hpp"

#include <algorithm>
#include <cmath>

namespace sb {

double relative_stdev(std::span<const double> x) {
  if (x.size() < 2) return INFINITY;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size() - 1);
  return mean > 0 ? std::sqrt(var) / mean : INFINITY;
}

bool warmup_done(int calls, double elapsed_s, const measure_settings& m) {
  return calls >= m.warmup_calls && elapsed_s >= m.warmup_min_s;
}

std::optional<std::string> sampling_stop_reason(std::span<const double> samples_ms, double sampled_s,
                                                const measure_settings& m) {
  const auto n = static_cast<int>(samples_ms.size());
  if (n >= m.min_samples && sampled_s >= m.min_time_s && relative_stdev(samples_ms) < m.target_rel_stdev)
    return "converged";
  if (n >= m.max_samples) return "max_samples";
  if (sampled_s >= m.max_time_s && n >= std::min(m.min_samples, 3)) return "max_time";
  if (sampled_s >= 2 * m.max_time_s) return "max_time";
  return std::nullopt;
}

}  // namespace sb
