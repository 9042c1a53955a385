// Deterministic feature maps of linear attention (baselines.md §3), shared by the variant and its tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace sb::linear_features {

enum class kind {
  elu,   ///< φ(x) = elu(x) + 1 = x + 1 for x > 0, e^x otherwise (Katharopoulos et al.)
  relu,  ///< φ(x) = max(x, 0) + 1e-3 (LRA's deterministic "Performer")
};

[[nodiscard]] inline float phi(kind k, float x) {
  if (k == kind::relu) return std::max(x, 0.0f) + 1e-3f;
  return x > 0.0f ? x + 1.0f : std::exp(x);
}

/// out[i] = φ(x[i]) for n values.
inline void apply(kind k, const float* x, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = phi(k, x[i]);
}

}  // namespace sb::linear_features
