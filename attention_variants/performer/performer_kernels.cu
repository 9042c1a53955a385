// FAVOR+ feature kernels on CUDA (see performer_cuda.hpp): the same stabilisers as favor.cpp.
#include "attention_variants/performer/performer_cuda.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "harness/cuda/cuda_error.hpp"

namespace sb::performer_cuda {
namespace {

constexpr int threads = 256;

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// Block-wide max or sum; every thread gets the result.
__device__ float block_reduce(float v, float* red, bool is_max) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = is_max ? warp_max(v) : warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < warps ? red[lane] : (is_max ? -INFINITY : 0.0f);
  v = is_max ? warp_max(v) : warp_sum(v);
  __syncthreads();
  return v;
}

__global__ void finish_exponents_kernel(const float* __restrict__ x, int d, float* __restrict__ a, int m,
                                        float half_s2, float* __restrict__ row_max) {
  __shared__ float red[32];
  const std::int64_t r = blockIdx.x;
  const float* xr = x + r * d;
  float sq = 0.0f;
  for (int c = threadIdx.x; c < d; c += blockDim.x) sq = fmaf(xr[c], xr[c], sq);
  sq = block_reduce(sq, red, false);
  const float diag = half_s2 * sq;
  float* ar = a + r * m;
  float mx = -INFINITY;
  for (int f = threadIdx.x; f < m; f += blockDim.x) {
    const float v = ar[f] - diag;
    ar[f] = v;
    mx = fmaxf(mx, v);
  }
  mx = block_reduce(mx, red, true);
  if (threadIdx.x == 0) row_max[r] = mx;
}

__global__ void head_max_kernel(const float* __restrict__ row_max, int t, float* __restrict__ head_max) {
  __shared__ float red[32];
  const float* rm = row_max + static_cast<std::int64_t>(blockIdx.x) * t;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < t; j += blockDim.x) mx = fmaxf(mx, rm[j]);
  mx = block_reduce(mx, red, true);
  if (threadIdx.x == 0) head_max[blockIdx.x] = mx;
}

/// One block of 1024 threads per head: tiles of 1024 rows, an inclusive max-scan inside each tile
/// (warp shuffles, then the warps' totals), combined with the running value carried from the last tile.
__global__ void __launch_bounds__(1024) prefix_max_kernel(const float* __restrict__ row_max, int t,
                                                          float* __restrict__ running) {
  __shared__ float warp_total[32];
  __shared__ float carry_sh;
  const std::int64_t base = static_cast<std::int64_t>(blockIdx.x) * t;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (threadIdx.x == 0) carry_sh = -INFINITY;
  __syncthreads();
  for (int j0 = 0; j0 < t; j0 += blockDim.x) {
    const int j = j0 + threadIdx.x;
    float v = j < t ? row_max[base + j] : -INFINITY;
    for (int o = 1; o < 32; o <<= 1) {
      const float up = __shfl_up_sync(0xffffffffu, v, o);
      if (lane >= o) v = fmaxf(v, up);
    }
    if (lane == 31) warp_total[warp] = v;
    __syncthreads();
    if (warp == 0) {
      float w = lane < static_cast<int>(blockDim.x >> 5) ? warp_total[lane] : -INFINITY;
      for (int o = 1; o < 32; o <<= 1) {
        const float up = __shfl_up_sync(0xffffffffu, w, o);
        if (lane >= o) w = fmaxf(w, up);
      }
      warp_total[lane] = w;  // inclusive scan of the warps' maxima
    }
    __syncthreads();
    const float carry = carry_sh;
    if (warp > 0) v = fmaxf(v, warp_total[warp - 1]);
    v = fmaxf(v, carry);
    if (j < t) running[base + j] = v;
    __syncthreads();  // everyone has read carry_sh and warp_total
    if (threadIdx.x == blockDim.x - 1) carry_sh = v;  // the tile's last value (−∞ padding keeps it)
    __syncthreads();
  }
}

__global__ void softmax_features_kernel(float* __restrict__ a, std::int64_t n, int m, const float* __restrict__ row_ref,
                                        const float* __restrict__ head_ref, std::int64_t rows_per_head, float shift,
                                        float ratio, float eps) {
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < n;
       e += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t r = e / m;
    const float ref = row_ref ? row_ref[r] : head_ref[r / rows_per_head] + shift;
    a[e] = ratio * (expf(a[e] - ref) + eps);
  }
}

__global__ void relu_features_kernel(float* __restrict__ a, std::size_t n, float eps) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x)
    a[i] = fmaxf(a[i], 0.0f) + eps;
}

unsigned grid_for(std::size_t n) {
  const std::size_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535u * 32u ? blocks : 65535u * 32u);
}

void check_rows(std::int64_t rows, const char* what) {
  if (rows > 2147483647LL) throw std::invalid_argument(std::string(what) + ": more than 2^31 - 1 rows in one launch");
}

}  // namespace

void launch_finish_exponents(const float* x, int d, float* a, std::int64_t rows, int m, float half_s2,
                             float* row_max, cudaStream_t stream) {
  if (rows <= 0) return;
  check_rows(rows, "performer exponents");
  finish_exponents_kernel<<<static_cast<unsigned>(rows), 128, 0, stream>>>(x, d, a, m, half_s2, row_max);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_head_max(const float* row_max, std::int64_t heads, int t, float* head_max, cudaStream_t stream) {
  if (heads <= 0) return;
  check_rows(heads, "performer key stabiliser");
  head_max_kernel<<<static_cast<unsigned>(heads), threads, 0, stream>>>(row_max, t, head_max);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_prefix_max(const float* row_max, std::int64_t heads, int t, float* running, cudaStream_t stream) {
  if (heads <= 0) return;
  check_rows(heads, "performer running key stabiliser");
  prefix_max_kernel<<<static_cast<unsigned>(heads), 1024, 0, stream>>>(row_max, t, running);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_softmax_features(float* a, std::int64_t rows, int m, const float* row_ref, const float* head_ref, int t,
                             float shift, float ratio, float eps, cudaStream_t stream) {
  const std::int64_t n = rows * m;
  if (n <= 0) return;
  softmax_features_kernel<<<grid_for(static_cast<std::size_t>(n)), threads, 0, stream>>>(a, n, m, row_ref, head_ref,
                                                                                         t, shift, ratio, eps);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_relu_features(float* a, std::size_t n, float eps, cudaStream_t stream) {
  if (n == 0) return;
  relu_features_kernel<<<grid_for(n), threads, 0, stream>>>(a, n, eps);
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::performer_cuda
