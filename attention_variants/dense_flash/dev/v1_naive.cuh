// Workbench v1: the first correct kernel. One thread per query row keeps its query, its output
// accumulator and the online-softmax state in registers and walks every visible key straight from
// global memory (bf16 → fp32, scalar FMAs). Every thread of a warp reads the same key: L1 broadcasts
// it, but nothing is shared between warps or blocks.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace sb::flash_dev {

template <int D, bool Causal>
__global__ void __launch_bounds__(128) v1_naive(const __nv_bfloat16* __restrict__ q, const __nv_bfloat16* __restrict__ k,
                                                const __nv_bfloat16* __restrict__ v, __nv_bfloat16* __restrict__ o, int t,
                                                long long rows, float scale) {
  const long long row = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows) return;
  const long long head = row / t;
  const int i = static_cast<int>(row - head * t);
  const __nv_bfloat16* kh = k + head * t * D;
  const __nv_bfloat16* vh = v + head * t * D;
  float qf[D], acc[D];
#pragma unroll
  for (int c = 0; c < D; ++c) {
    qf[c] = __bfloat162float(q[row * D + c]) * scale;
    acc[c] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int key_end = Causal ? i + 1 : t;
  for (int j = 0; j < key_end; ++j) {
    float s = 0.0f;
#pragma unroll
    for (int c = 0; c < D; ++c) s = fmaf(qf[c], __bfloat162float(kh[static_cast<long long>(j) * D + c]), s);
    const float m_new = fmaxf(m, s);
    const float correction = expf(m - m_new), p = expf(s - m_new);
    l = l * correction + p;
#pragma unroll
    for (int c = 0; c < D; ++c) acc[c] = fmaf(p, __bfloat162float(vh[static_cast<long long>(j) * D + c]), acc[c] * correction);
    m = m_new;
  }
#pragma unroll
  for (int c = 0; c < D; ++c) o[row * D + c] = __float2bfloat16_rn(acc[c] / l);
}

}  // namespace sb::flash_dev
