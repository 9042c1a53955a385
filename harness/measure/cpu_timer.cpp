#include "harness/measure/cpu_timer.hpp"

#include <chrono>
#include <cmath>
#include <ctime>

namespace sb {
namespace {

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

double rel_stdev(const std::vector<double>& x) {
  if (x.size() < 2) return INFINITY;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size() - 1);
  return mean > 0 ? std::sqrt(var) / mean : INFINITY;
}

}  // namespace

timing_samples measure_cpu(const std::function<void()>& call, const measure_settings& m,
                           const std::function<void(std::size_t)>& after_sample) {
  using clock = std::chrono::steady_clock;
  const auto warm_start = clock::now();
  for (int i = 0; i < m.warmup_calls || std::chrono::duration<double>(clock::now() - warm_start).count() < m.warmup_min_s;
       ++i)
    call();

  timing_samples out;
  double sampled_s = 0;
  while (true) {
    const double cpu0 = process_cpu_ms();
    const auto t0 = clock::now();
    call();
    const auto t1 = clock::now();
    const double cpu1 = process_cpu_ms();
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    out.wall_ms.push_back(ms);
    out.cpu_ms.push_back(cpu1 - cpu0);
    sampled_s += ms * 1e-3;
    if (after_sample) after_sample(out.wall_ms.size() - 1);

    const auto n = static_cast<int>(out.wall_ms.size());
    if (n >= m.min_samples && sampled_s >= m.min_time_s && rel_stdev(out.wall_ms) < m.target_rel_stdev) {
      out.stop_reason = "converged";
      break;
    }
    if (n >= m.max_samples) {
      out.stop_reason = "max_samples";
      break;
    }
    if (sampled_s >= m.max_time_s && n >= std::min(m.min_samples, 3)) {
      out.stop_reason = "max_time";
      break;
    }
    // A single call longer than the whole budget: do not let min_samples stretch the case forever.
    if (sampled_s >= 2 * m.max_time_s) {
      out.stop_reason = "max_time";
      break;
    }
  }
  return out;
}

}  // namespace sb
