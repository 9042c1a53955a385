// dense on CUDA: the row softmax of the materialised [B·H·T, T] fp32 score matrix (see dense_cuda.cpp
// for the two GEMMs around it). One thread block per row: max, sum of exponentials, then the
// normalised probabilities written in place, as fp32 or packed into the row's storage as fp16/bf16
// for a tensor-core P·V GEMM.
#include "attention_variants/dense/dense_kernels.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::dense_cuda {
namespace {

constexpr int max_threads = 512;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Block-wide max (is_max) or sum; every thread gets the result. `red` holds one value per warp.
__device__ float block_reduce(float v, float* red, bool is_max) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = is_max ? warp_max(v) : warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  const float identity = is_max ? -INFINITY : 0.0f;
  v = lane < warps ? red[lane] : identity;
  v = is_max ? warp_max(v) : warp_sum(v);
  __syncthreads();  // red may be reused by the next reduction
  return v;
}


template <typename P>
__global__ void __launch_bounds__(max_threads) softmax_rows(float* scores, int t, int causal) {
  __shared__ float red[32];
  const std::int64_t row = blockIdx.x;
  const int i = static_cast<int>(row % t);
  float* s = scores + row * t;
  const int visible = causal ? i + 1 : t;

  float mx = -INFINITY;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) mx = fmaxf(mx, s[j]);
  mx = block_reduce(mx, red, true);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) sum += expf(s[j] - mx);
  sum = block_reduce(sum, red, false);  // ≥ 1: the maximum contributes exp(0)
  const float inv = 1.0f / sum;

  // Chunks of blockDim.x elements in order. A narrower P element j lands inside fp32 slot
  // j·sizeof(P)/4 ≤ j, which belongs to this chunk or an earlier one: once every thread has read its
  // element of the chunk (the barrier), writing the chunk cannot clobber a score still to be read.
  P* p = reinterpret_cast<P*>(s);
  for (int j0 = 0; j0 < t; j0 += blockDim.x) {
    const int j = j0 + threadIdx.x;
    const float val = j < visible ? expf(s[j] - mx) * inv : 0.0f;
    if constexpr (sizeof(P) < sizeof(float)) __syncthreads();
    if (j < t) p[j] = cuda::from_f32<P>(val);
  }
}

int threads_for(int t) {
  int n = 32;
  while (n < t && n < max_threads) n *= 2;
  return n;
}

}  // namespace

void launch_softmax_rows(float* scores, std::int64_t rows, int t, bool causal, dtype prob_type, cudaStream_t stream) {
  if (rows <= 0 || t <= 0) return;
  if (rows > std::numeric_limits<int>::max())
    throw std::invalid_argument("dense softmax: more than 2^31 - 1 rows in one launch");
  const dim3 grid(static_cast<unsigned>(rows));
  const int threads = threads_for(t);
  switch (prob_type) {
    case dtype::fp32: softmax_rows<float><<<grid, threads, 0, stream>>>(scores, t, causal ? 1 : 0); break;
    case dtype::fp16: softmax_rows<__half><<<grid, threads, 0, stream>>>(scores, t, causal ? 1 : 0); break;
    case dtype::bf16: softmax_rows<__nv_bfloat16><<<grid, threads, 0, stream>>>(scores, t, causal ? 1 : 0); break;
  }
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::dense_cuda
