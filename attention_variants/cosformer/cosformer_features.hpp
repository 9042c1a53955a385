// cosFormer features (Qin et al., ICLR 2022; OpenNLPLab/cosFormer cosformer.py; baselines.md §4):
// x' = ReLU(x) and, for the 1-based position i = 1..T with θ_i = (π/2)·i/M and M = max(T_q, T_k) = T,
// φ(x_i) = [x'_i·sin θ_i, x'_i·cos θ_i] (2d features), so that φ(q_i)·φ(k_j) = q'_i·k'_j·cos(π/2·(i−j)/M).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>

namespace sb::cosformer {

/// θ for the 0-based position `pos` of a sequence scaled by M.
[[nodiscard]] inline double theta(int pos, int m) { return std::numbers::pi / 2.0 * (pos + 1) / m; }

/// Features of n consecutive rows starting at 0-based position p0: x [n, d] (leading dimension ldx) →
/// out [n, 2d] = [ReLU(x)·sin θ | ReLU(x)·cos θ].
inline void features(const float* x, int ldx, int n, int d, int p0, int m, float* out) {
  for (int r = 0; r < n; ++r) {
    const double th = theta(p0 + r, m);
    const float s = static_cast<float>(std::sin(th)), c = static_cast<float>(std::cos(th));
    const float* xr = x + static_cast<std::size_t>(r) * ldx;
    float* o = out + static_cast<std::size_t>(r) * 2 * d;
    for (int i = 0; i < d; ++i) {
      const float v = std::max(xr[i], 0.0f);
      o[i] = v * s;
      o[d + i] = v * c;
    }
  }
}

}  // namespace sb::cosformer
