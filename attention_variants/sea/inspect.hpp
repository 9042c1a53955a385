// The matrices behind one (sample, head) of a SEA case, for `seabench inspect` (interpretability is one
// of SEA's selling points): exact attention, the estimated compressed attention, the upsampled mask and
// the final sparse attention. Quadratic in T: meant for the short cases one renders.
#pragma once

#include <vector>

#include "harness/core/params.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea {

struct head_matrices {
  int seq_len = 0, K = 0;
  std::vector<float> exact;       ///< [T, T] exact softmax attention (causal: zero above the diagonal)
  std::vector<float> compressed;  ///< [T, K] the Â row each query used (row t: estimator row s·floor(t/s))
  std::vector<float> mask;        ///< [T, T] 1 where the SEA mask keeps key j for query t, else 0
  std::vector<float> sparse;      ///< [T, T] final sparse attention weights (row gate applied when output=mix)
};

/// Run SEA's stages for the case (p, params) on `in` ([B, H, T, D] host arrays) and return the matrices of
/// sample `batch`, head `head`. Throws std::out_of_range for a bad index, sb::unsupported_case for a
/// rejected combination, sb::data_error for a bad weights file.
[[nodiscard]] head_matrices inspect_head(const problem& p, const param_set& params, qkv_view in, int batch, int head);

}  // namespace sb::sea
