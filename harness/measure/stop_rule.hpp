// The sampling stop rule shared by the CPU timer and the CUDA-event timer (measurement.md §2/§4):
// warm up for at least `warmup_calls` calls and `warmup_min_s`; then sample until there are enough
// samples and enough sampled time and the relative stdev is below target, or a hard cap is hit.
// Pure functions of the samples so far, so the rule is tested without a clock or a device.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "harness/core/measure_settings.hpp"

namespace sb {

/// Sample standard deviation (n − 1) over the mean; +inf for fewer than 2 samples or a mean ≤ 0.
[[nodiscard]] double relative_stdev(std::span<const double> samples);

/// True once `calls` warm-up calls taking `elapsed_s` in total satisfy both warm-up minimums.
[[nodiscard]] bool warmup_done(int calls, double elapsed_s, const measure_settings& m);

/// Whether to stop after the samples so far (`samples_ms`, summing to `sampled_s` seconds), and why:
/// "converged" (≥ min_samples, ≥ min_time_s, relative stdev < target_rel_stdev), "max_samples", or
/// "max_time" (≥ max_time_s with at least min(min_samples, 3) samples, or ≥ 2·max_time_s in any case,
/// so one call longer than the whole budget cannot stretch a case to min_samples calls).
/// nullopt: take another sample.
[[nodiscard]] std::optional<std::string> sampling_stop_reason(std::span<const double> samples_ms, double sampled_s,
                                                              const measure_settings& m);

}  // namespace sb
