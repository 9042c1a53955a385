// The trusted fp64 exact-attention reference for a list of query rows. Used ONLY by the metrics:
// no variant may call it, so a bug shared by a variant and its check cannot hide.
#pragma once

#include <cstdint>
#include <vector>

#include "harness/core/types.hpp"

namespace sb {

/// Exact softmax attention for selected rows, in fp64.
struct reference_result {
  std::vector<std::int64_t> rows;  ///< global row ids r = (b·H + h)·T + i, in the order requested
  std::vector<double> out;         ///< rows.size() × D: o_ref for each row
  std::vector<double> lse;         ///< rows.size(): log Σ_{j visible} exp(τ·q_i·k_j)
};

/// o_ref,i = Σ_j softmax_j(τ·q_i·k_j)·v_j over the visible keys (j ≤ i when causal), for each row in
/// `rows` (any order, duplicates allowed). q, k, v are host [B, H, T, D] fp32. Scores, the
/// max-subtracted exponentials, their sum and the output are accumulated in fp64. `threads`
/// (0 = all cores) only splits the work: the result is bitwise the same for any thread count.
/// Throws std::invalid_argument for a row id outside [0, B·H·T).
[[nodiscard]] reference_result exact_reference(const problem& p, const float* q, const float* k, const float* v,
                                               std::vector<std::int64_t> rows, int threads = 0);

}  // namespace sb
