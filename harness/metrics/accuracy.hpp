// Accuracy of one variant output against the fp64 reference: output errors over the reference rows
// and, for variants that expose their support, how much exact softmax mass and how many exact top-k
// keys that support holds (docs/metrics.md; measurement.md §5).
#pragma once

#include <cstdint>
#include <optional>

#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"
#include "harness/metrics/exact_reference.hpp"

namespace sb {

/// Every value is accumulated in fp64. Row metrics are over the reference rows only.
struct accuracy_report {
  double rel_err = 0;      ///< ‖O − O_ref‖_F / ‖O_ref‖_F
  double cos_sim = 0;      ///< mean over rows of cos(o_i, o_ref,i), rows with a zero norm skipped
  double cos_sim_p10 = 0;  ///< 10th percentile of the same per-row cosines
  double max_abs_err = 0;  ///< max |O − O_ref|
  std::int64_t ref_rows = 0;           ///< reference rows evaluated
  std::int64_t nonfinite_outputs = 0;  ///< NaN/Inf elements anywhere in O; any makes the four above NaN
  std::int64_t zero_norm_rows = 0;     ///< reference rows skipped by cos_sim (‖o_i‖ = 0 or ‖o_ref,i‖ = 0)
  std::optional<double> mass_recall;         ///< mean over rows of Σ_{j∈S_i} P_ref(i, j); set with a support
  std::optional<double> mass_recall_p10;     ///< its 10th percentile
  std::optional<double> topk_recall;         ///< mean of #(S_i ∩ Top_k'(P_ref,i)) / k'; support and problem.k set
  std::optional<double> keys_per_query;      ///< mean support row length over ALL B·H·T rows
  std::optional<double> keys_per_query_max;  ///< longest support row
  std::int64_t future_keys = 0;  ///< causal: support entries j > i over all rows (a variant bug); given 0 mass
};

/// Compare `out` ([B, H, T, D] fp32, host) with `ref` and, when `support` is not null, score the support
/// against P_ref(i, j) = exp(τ·q_i·k_j − lse_i), recomputing the scores in fp64 from q and k exactly as
/// exact_reference() does. `v` is not read by the present metrics. Duplicate keys in a support row count
/// once; empty rows count 0. Top-k ties are broken towards the lower key index. `threads` (0 = all cores)
/// does not change the result. Throws std::invalid_argument when ref's sizes, a row id, the support's
/// row count or a support column is out of range, or when problem.k is set but not positive.
[[nodiscard]] accuracy_report compute_accuracy(const problem& p, const float* q, const float* k, const float* v,
                                               const float* out, const reference_result& ref,
                                               const attention_support* support, int threads = 0);

}  // namespace sb
