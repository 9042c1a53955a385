#include "harness/measure/cpu_timer.hpp"

#include <chrono>
#include <ctime>

#include "harness/measure/stop_rule.hpp"

namespace sb {
namespace {

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

}  // namespace

timing_samples measure_cpu(const std::function<void()>& call, const measure_settings& m,
                           const std::function<void(std::size_t)>& after_sample) {
  using clock = std::chrono::steady_clock;
  const auto warm_start = clock::now();
  for (int i = 0; !warmup_done(i, std::chrono::duration<double>(clock::now() - warm_start).count(), m); ++i) call();

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

    if (auto reason = sampling_stop_reason(out.wall_ms, sampled_s, m)) {
      out.stop_reason = std::move(*reason);
      break;
    }
  }
  return out;
}

}  // namespace sb
