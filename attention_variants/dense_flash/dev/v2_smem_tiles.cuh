// Workbench v2: v1's arithmetic (one thread per query row, scalar fp32 FMAs) with the keys and values
// staged in shared memory: a block of 64 queries loads 64-key K/V tiles with 16-byte vector loads
// once and every thread reads them from shared memory (one address per warp: a broadcast). Global
// traffic for K/V drops by the block's 64 queries; the FMAs stay scalar, so the tensor cores idle.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace sb::flash_dev {

template <int D, bool Causal>
__global__ void __launch_bounds__(64) v2_smem_tiles(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                                                    const __nv_bfloat16* __restrict__ v, __nv_bfloat16* __restrict__ o,
                                                    int t, float scale) {
  constexpr int BQ = 64, BK = 64, chunks = D / 8;
  __shared__ __align__(16) __nv_bfloat16 ks[BK * D], vs[BK * D];
  const int m_blocks = (t + BQ - 1) / BQ;
  const long long head = blockIdx.x / m_blocks;
  const int m0 = static_cast<int>(blockIdx.x % m_blocks) * BQ;
  const int i = m0 + static_cast<int>(threadIdx.x);
  const bool active = i < t;
  const long long base = head * t * D;
  float qf[D], acc[D];
#pragma unroll
  for (int c = 0; c < D; ++c) {
    qf[c] = active ? __bfloat162float(q[base + static_cast<long long>(i) * D + c]) * scale : 0.0f;
    acc[c] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int key_end = Causal ? min(t, m0 + BQ) : t;
  for (int k0 = 0; k0 < key_end; k0 += BK) {
    __syncthreads();  // the previous tile is consumed
    for (int c = threadIdx.x; c < BK * chunks; c += BQ) {
      const int r = c / chunks, col = (c % chunks) * 8;
      uint4 kv = make_uint4(0, 0, 0, 0), vv = kv;
      if (k0 + r < t) {
        kv = *reinterpret_cast<const uint4*>(k + base + static_cast<long long>(k0 + r) * D + col);
        vv = *reinterpret_cast<const uint4*>(v + base + static_cast<long long>(k0 + r) * D + col);
      }
      *reinterpret_cast<uint4*>(ks + r * D + col) = kv;
      *reinterpret_cast<uint4*>(vs + r * D + col) = vv;
    }
    __syncthreads();
    if (!active) continue;
    const int nk = min(BK, (Causal ? i + 1 : t) - k0);  // keys of this tile the row sees
    for (int jj = 0; jj < nk; ++jj) {
      float s = 0.0f;
#pragma unroll
      for (int c = 0; c < D; ++c) s = fmaf(qf[c], __bfloat162float(ks[jj * D + c]), s);
      const float m_new = fmaxf(m, s);
      const float correction = expf(m - m_new), p = expf(s - m_new);
      l = l * correction + p;
#pragma unroll
      for (int c = 0; c < D; ++c) acc[c] = fmaf(p, __bfloat162float(vs[jj * D + c]), acc[c] * correction);
      m = m_new;
    }
  }
  if (!active) return;
#pragma unroll
  for (int c = 0; c < D; ++c) o[base + static_cast<long long>(i) * D + c] = __float2bfloat16_rn(acc[c] / l);
}

}  // namespace sb::flash_dev
