// Device helpers shared by SEA's CUDA stages (*_cuda.cu): dtype dispatch over the case's input type,
// warp and block reductions, and element loads widened to fp32. Included by .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "harness/core/types.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::sea::cuda_detail {

template <typename T>
struct type_tag {
  using type = T;
};

/// Call f(type_tag<E>{}) with E the element type of `t` (float, __half or __nv_bfloat16).
template <typename F>
void dispatch_dtype(dtype t, F&& f) {
  switch (t) {
    case dtype::fp32: f(type_tag<float>{}); return;
    case dtype::fp16: f(type_tag<__half>{}); return;
    case dtype::bf16: f(type_tag<__nv_bfloat16>{}); return;
  }
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Block-wide max or sum (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
/// `red` holds 32 values of shared memory.
template <typename V>
__device__ V block_reduce(V v, V* red, bool is_max) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  if (is_max) {
    v = warp_max(static_cast<float>(v));
  } else {
    v = warp_sum(v);
  }
  if (lane == 0) red[warp] = v;
  __syncthreads();
  const V identity = is_max ? static_cast<V>(-INFINITY) : static_cast<V>(0);
  v = lane < warps ? red[lane] : identity;
  if (is_max) {
    v = warp_max(static_cast<float>(v));
  } else {
    v = warp_sum(v);
  }
  __syncthreads();  // red may be reused by the next reduction
  return v;
}

/// Dot product of a row x (n elements of E in global memory) with y (fp32, shared or registers),
/// accumulated in fp32 from element 0 upwards.
template <typename E>
__device__ __forceinline__ float dot_row(const E* x, const float* y, int n) {
  float acc = 0.0f;
  for (int c = 0; c < n; ++c) acc = fmaf(cuda::to_f32(x[c]), y[c], acc);
  return acc;
}

/// Sixteen-byte loads of a row when its width and address allow them: 8 halves or 4 floats at a time.
template <typename E>
__device__ __forceinline__ float dot_row_vec(const E* x, const float* y, int n) {
  constexpr int per = 16 / sizeof(E);
  if (n % per != 0 || (reinterpret_cast<std::uintptr_t>(x) & 15u) != 0) return dot_row(x, y, n);
  float acc = 0.0f;
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  for (int c = 0; c < n / per; ++c) {
    const uint4 raw = __ldg(xv + c);
    const E* e = reinterpret_cast<const E*>(&raw);
#pragma unroll
    for (int l = 0; l < per; ++l) acc = fmaf(cuda::to_f32(e[l]), y[c * per + l], acc);
  }
  return acc;
}

// Blocked fp64 column prefix sums of a [T, d] matrix x (one head's keys or values), in three launches:
// chunk_sums (per chunk of scan_chunk rows and column), chunk_bases (exclusive scan of those per column,
// in place) and a per-chunk pass that continues the running sum row by row (chunk_prefix, or a caller's
// own kernel that consumes the sums as it goes, as the causal output mix does).
inline constexpr int scan_chunk = 256;

template <typename E>
__global__ void chunk_sums(const E* x, int T, int d, double* csum) {
  const int ch = blockIdx.x;
  const int j0 = ch * scan_chunk, j1 = min(T, j0 + scan_chunk);
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    double acc = 0;
    for (int j = j0; j < j1; ++j) acc += cuda::to_f32(x[static_cast<std::size_t>(j) * d + c]);
    csum[static_cast<std::size_t>(ch) * d + c] = acc;
  }
}

template <typename Acc>
__global__ void chunk_bases(Acc* csum, int chunks, int d) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= d) return;
  Acc run = 0;
  for (int ch = 0; ch < chunks; ++ch) {
    const Acc x = csum[static_cast<std::size_t>(ch) * d + c];
    csum[static_cast<std::size_t>(ch) * d + c] = run;
    run += x;
  }
}

/// S[0] = 0, S[j+1] = S[j] + x[j] (S is [T+1, d], fp64).
template <typename E>
__global__ void chunk_prefix(const E* x, const double* base, int T, int d, double* S) {
  const int ch = blockIdx.x;
  const int j0 = ch * scan_chunk, j1 = min(T, j0 + scan_chunk);
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    double run = base[static_cast<std::size_t>(ch) * d + c];
    if (ch == 0) S[c] = 0.0;
    for (int j = j0; j < j1; ++j) {
      run += cuda::to_f32(x[static_cast<std::size_t>(j) * d + c]);
      S[(static_cast<std::size_t>(j) + 1) * d + c] = run;
    }
  }
}

/// Threads per block for a loop over n items: a power of two in [32, cap].
inline int threads_for(long long n, int cap) {
  int t = 32;
  while (t < n && t < cap) t *= 2;
  return t;
}

}  // namespace sb::sea::cuda_detail
