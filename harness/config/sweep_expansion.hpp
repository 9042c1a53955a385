// Expanding one sweep into cases: variant points × datasets × seq_len × k × causal × batch × heads ×
// head_dim × dtype × seeds, with k only for variants that use it.
#pragma once

#include <vector>

#include "harness/config/config_values.hpp"
#include "harness/config/sweep_axes.hpp"
#include "harness/config/variant_entries.hpp"
#include "harness/core/case_spec.hpp"

namespace sb::config {

/// The cases of one sweep in expansion order (the last axis, seeds, varying fastest). Unsupported
/// combinations are kept (the runner reports them); a variant that uses k in a sweep without `k`,
/// or a dataset that cannot serve a problem, is a config_error.
[[nodiscard]] std::vector<case_spec> expand_sweep(const config_source& src, const sweep_axes& axes,
                                                  const std::vector<variant_point>& variants,
                                                  const measure_settings& measure, int sweep_index);

/// Keep the first case of each case_id(), in order.
[[nodiscard]] std::vector<case_spec> dedupe_cases(std::vector<case_spec> cases);

}  // namespace sb::config
