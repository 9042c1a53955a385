// SEA's row-relative bins (sea-algorithm.md §5, §7): query row t's K bins partition its own visible keys
// [0, L_t), L_t = t+1 when causal, else T (the harness has no padding, so the CSR span width W_t = L_t).
// Both upsampling paths partition the row into contiguous spans; they differ only in the boundary rule:
//   nearest (official dense path): key j lies in bin clamp(floor((j+0.5)·K/L − 1e-4), 0, K−1), with
//            x = (j + 0.5)·K / L evaluated in double (our fixed rounding rule);
//   csr     (official FlatCSR path): bin b spans [round(b·W/K), round((b+1)·W/K)), round half away
//            from zero, evaluated exactly in integers.
// Every estimator bins keys with the same rule as the upsampler, so Â's cells and the mask agree.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "attention_variants/sea/sea_config.hpp"

// The same functions run on the host (CPU pipeline, plans) and in the CUDA kernels (*_cuda.cu), so both
// devices bin keys identically; they use only plain integer and double arithmetic (no std:: algorithms).
#if defined(__CUDACC__)
#define SEA_HD __host__ __device__
#else
#define SEA_HD
#endif

namespace sb::sea {

[[nodiscard]] SEA_HD inline int clamp_int(int x, int lo, int hi) { return x < lo ? lo : (x > hi ? hi : x); }

[[nodiscard]] SEA_HD inline int visible_keys(bool causal, int seq_len, int t) { return causal ? t + 1 : seq_len; }

/// round(num / den) half away from zero, for num ≥ 0 and den > 0, exactly.
[[nodiscard]] SEA_HD inline std::int64_t round_div(std::int64_t num, std::int64_t den) { return (2 * num + den) / (2 * den); }

/// Dense-path bin of visible key rank j among L keys.
[[nodiscard]] SEA_HD inline int nearest_bin(int j, int L, int K) {
  const double x = (static_cast<double>(j) + 0.5) * K / L - 1e-4;
  return clamp_int(static_cast<int>(::floor(x)), 0, K - 1);
}

/// First key of bin b (b in [0, K]; bin K starts at L): the span of bin b is [bin_start(b), bin_start(b+1)).
[[nodiscard]] SEA_HD inline int bin_start(upsample_mode m, int L, int K, int b) {
  if (b <= 0) return 0;
  if (b >= K) return L;
  if (m == upsample_mode::csr) return static_cast<int>(round_div(static_cast<std::int64_t>(b) * L, K));
  // Smallest j with nearest_bin(j) ≥ b: from the closed form, then corrected against the rule itself.
  int lo = clamp_int(static_cast<int>(::ceil((b + 1e-4) * L / K - 0.5)), 0, L);
  while (lo > 0 && nearest_bin(lo - 1, L, K) >= b) --lo;
  while (lo < L && nearest_bin(lo, L, K) < b) ++lo;
  return lo;
}

/// Fill bounds[0..K] with the bin starts of a row of L visible keys; returns the non-empty bin count.
SEA_HD inline int row_bounds(upsample_mode m, int L, int K, int* bounds) {
  int nonempty = 0;
  for (int b = 0; b <= K; ++b) bounds[b] = bin_start(m, L, K, b);
  for (int b = 0; b < K; ++b) nonempty += bounds[b + 1] > bounds[b];
  return nonempty;
}

/// Keys a selected cell of n keys keeps (§7 and docs/sea.md): csr clamps to k; then k_oversample > 1
/// subsamples back to ceil(n' / k_oversample). Never 0 for a non-empty cell.
[[nodiscard]] SEA_HD inline int cell_keep(upsample_mode m, int n, int k, double k_oversample) {
  const int base = m == upsample_mode::csr ? (n < k ? n : k) : n;
  if (base <= 0 || k_oversample <= 1.0) return base;
  return clamp_int(static_cast<int>(::ceil(base / k_oversample)), 1, base);
}

/// Write `keep` keys of the span [lo, hi) in ascending order: all of them when keep ≥ n, else the strided
/// set hi−1−floor(i·n/keep), i = 0..keep−1, anchored at the span's right end (§7). Returns keys written.
SEA_HD inline int emit_cell_keys(int lo, int hi, int keep, std::int32_t* out) {
  const int n = hi - lo;
  if (keep >= n) {
    for (int j = 0; j < n; ++j) out[j] = lo + j;
    return n;
  }
  for (int i = 0; i < keep; ++i)
    out[keep - 1 - i] = static_cast<std::int32_t>(hi - 1 - static_cast<std::int64_t>(i) * n / keep);
  return keep;
}

}  // namespace sb::sea
