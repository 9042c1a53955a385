// Device code shared by the CUDA sparse kernels (included by .cu files only): one warp computes one
// query row's softmax attention over a list of keys given by a functor key_at(e), e < n_keys. Lane l
// holds dimensions l, l+32, … (CH per lane, D ≤ 32·CH) of the query and the accumulator. Keys are
// taken 32 at a time: each lane fetches one key id, the warp walks them by shuffle, every score is a
// butterfly sum (so all lanes have it), and the softmax is online in fp32 (running max m and sum l,
// the accumulator rescaled by exp(m_old − m_new)). An empty row writes 0 and returns −inf.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "harness/cuda/device_convert.cuh"

namespace sb::sparse::cuda_kernels {

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Returns the row's logsumexp (every lane). qrow, orow: the row's D elements; kh, vh: the head's [T, D].
template <typename E, int CH, typename KeyAt>
__device__ float attend_row_warp(const E* __restrict__ qrow, const E* __restrict__ kh, const E* __restrict__ vh,
                                 E* __restrict__ orow, int d, float tau, std::int64_t n_keys, KeyAt key_at) {
  const int lane = threadIdx.x & 31;
  float qr[CH], acc[CH];
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    qr[u] = c < d ? cuda::to_f32(qrow[c]) : 0.0f;
    acc[u] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (std::int64_t e0 = 0; e0 < n_keys; e0 += 32) {
    const int n = n_keys - e0 < 32 ? static_cast<int>(n_keys - e0) : 32;
    const int my_key = lane < n ? key_at(e0 + lane) : 0;
    for (int e = 0; e < n; ++e) {
      const int j = __shfl_sync(0xffffffffu, my_key, e);
      const E* kr = kh + static_cast<std::int64_t>(j) * d;
      float part = 0.0f;
#pragma unroll
      for (int u = 0; u < CH; ++u) {
        const int c = lane + 32 * u;
        if (c < d) part += qr[u] * cuda::to_f32(kr[c]);
      }
      const float s = tau * warp_sum(part);
      const float m_new = fmaxf(m, s);
      const float corr = expf(m - m_new);  // 0 on the first key (m = −inf)
      const float pj = expf(s - m_new);
      l = l * corr + pj;
      const E* vr = vh + static_cast<std::int64_t>(j) * d;
#pragma unroll
      for (int u = 0; u < CH; ++u) {
        const int c = lane + 32 * u;
        acc[u] = acc[u] * corr + (c < d ? pj * cuda::to_f32(vr[c]) : 0.0f);
      }
      m = m_new;
    }
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // an empty row outputs 0
#pragma unroll
  for (int u = 0; u < CH; ++u) {
    const int c = lane + 32 * u;
    if (c < d) orow[c] = cuda::from_f32<E>(acc[u] * inv);
  }
  return l > 0.0f ? m + logf(l) : -INFINITY;
}

/// Calls f(std::integral_constant<int, CH>{}) with the smallest CH ∈ {1, 2, 4, 8} such that D ≤ 32·CH;
/// throws std::invalid_argument for D outside 1 … 256.
template <typename F>
void dispatch_head_dim(int d, F&& f) {
  if (d < 1 || d > 256)
    throw std::invalid_argument("sparse attention (CUDA): head_dim " + std::to_string(d) + " outside 1..256");
  if (d <= 32) return f(std::integral_constant<int, 1>{});
  if (d <= 64) return f(std::integral_constant<int, 2>{});
  if (d <= 128) return f(std::integral_constant<int, 4>{});
  return f(std::integral_constant<int, 8>{});
}

}  // namespace sb::sparse::cuda_kernels
