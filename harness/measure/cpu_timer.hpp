// CPU timing of one callable: warm-up, then samples until the stop rule of measure_settings holds
// (enough samples and time, then a relative stdev below target; or a hard cap). measurement.md §2/§4.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "harness/core/measure_settings.hpp"

namespace sb {

struct timing_samples {
  std::vector<double> wall_ms;  ///< one per timed call
  std::vector<double> cpu_ms;   ///< process CPU time per call (all threads)
  std::string stop_reason;      ///< converged | max_samples | max_time
};

/// `call` runs one attention call; `after_sample(i)` (optional) runs untimed after sample i.
[[nodiscard]] timing_samples measure_cpu(const std::function<void()>& call, const measure_settings& m,
                                         const std::function<void(std::size_t)>& after_sample = {});

}  // namespace sb
