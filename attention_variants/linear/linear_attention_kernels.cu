// The small kernels around the cuBLAS products of non-causal linear attention on CUDA
// (linear_attention_cuda.cpp): widening half inputs to fp32, the key-feature sums z, and the
// readout o_i = num_i / max(φq_i·z, floor) written in the case dtype; the bare denominators φq_i·z
// for attend_sums.
#include "attention_variants/linear/linear_attention_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cfloat>
#include <stdexcept>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::linear_cuda {
namespace {

constexpr int threads = 256;

template <typename T>
__global__ void widen_kernel(const T* __restrict__ src, std::size_t n, float* __restrict__ dst) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x)
    dst[i] = cuda::to_f32(src[i]);
}

/// Block (f-tile, head): each thread sums one feature column over the head's t rows in fp32,
/// 8 partial sums per thread (threads of a warp read consecutive features: coalesced).
__global__ void feature_sums_kernel(const float* __restrict__ phi, int t, int f, float* __restrict__ z) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (x >= f) return;
  const std::int64_t head = blockIdx.y;
  const float* base = phi + head * t * static_cast<std::int64_t>(f) + x;
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= t; j += 8)
    for (int l = 0; l < 8; ++l) s[l] += base[static_cast<std::int64_t>(j + l) * f];
  float tail = 0.0f;
  for (; j < t; ++j) tail += base[static_cast<std::int64_t>(j) * f];
  z[head * f + x] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

/// One block per row: den = φq·z (block reduction), then the row's dv outputs.
template <typename T>
__global__ void normalise_kernel(const float* __restrict__ num, const float* __restrict__ phi_q,
                                 const float* __restrict__ z, int t, int f, int dv, float floor, T* __restrict__ out) {
  __shared__ float red[32];
  const std::int64_t row = blockIdx.x;
  const std::int64_t head = row / t;
  const float* q = phi_q + row * f;
  const float* zh = z + head * f;
  float d = 0.0f;
  for (int x = threadIdx.x; x < f; x += blockDim.x) d = fmaf(q[x], zh[x], d);
  for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) red[warp] = d;
  __syncthreads();
  if (warp == 0) {
    d = lane < static_cast<int>(blockDim.x >> 5) ? red[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
    if (lane == 0) red[0] = d;
  }
  __syncthreads();
  const float inv = 1.0f / fmaxf(red[0], floor);
  for (int c = threadIdx.x; c < dv; c += blockDim.x) out[row * dv + c] = cuda::from_f32<T>(num[row * dv + c] * inv);
}

/// One warp per row: dots[row] = phi[row, :]·z[row / t, :].
__global__ void row_dots_kernel(const float* __restrict__ phi, const float* __restrict__ z, std::int64_t rows, int t,
                                int f, float* __restrict__ dots) {
  const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const float* q = phi + row * f;
  const float* zh = z + (row / t) * f;
  float d = 0.0f;
  for (int x = lane; x < f; x += 32) d = fmaf(q[x], zh[x], d);
  for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
  if (lane == 0) dots[row] = d;
}

unsigned grid_for(std::size_t n) {
  const std::size_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 32 ? blocks : 65535 * 32);
}

}  // namespace

void launch_widen(const void* src, dtype type, std::size_t n, float* dst, cudaStream_t stream) {
  if (n == 0) return;
  switch (type) {
    case dtype::fp32: widen_kernel<<<grid_for(n), threads, 0, stream>>>(static_cast<const float*>(src), n, dst); break;
    case dtype::fp16: widen_kernel<<<grid_for(n), threads, 0, stream>>>(static_cast<const __half*>(src), n, dst); break;
    case dtype::bf16:
      widen_kernel<<<grid_for(n), threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(src), n, dst);
      break;
  }
  SB_CUDA_CHECK_LAUNCH();
}

void launch_feature_sums(const float* phi, std::int64_t heads, int t, int features, float* z, cudaStream_t stream) {
  if (heads <= 0 || features <= 0) return;
  if (heads > 65535) throw std::invalid_argument("linear attention feature sums: more than 65535 heads");
  constexpr int block = 128;
  const dim3 grid(static_cast<unsigned>((features + block - 1) / block), static_cast<unsigned>(heads));
  feature_sums_kernel<<<grid, block, 0, stream>>>(phi, t, features, z);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_row_dots(const float* phi, const float* z, std::int64_t heads, int t, int features, float* dots,
                     cudaStream_t stream) {
  const std::int64_t rows = heads * t;
  if (rows <= 0) return;
  constexpr int warps = 8;
  const std::int64_t blocks = (rows + warps - 1) / warps;
  if (blocks > 2147483647LL) throw std::invalid_argument("linear attention row dots: too many rows");
  row_dots_kernel<<<static_cast<unsigned>(blocks), warps * 32, 0, stream>>>(phi, z, rows, t, features, dots);
  SB_CUDA_CHECK_LAUNCH();
}

void launch_normalise(const feature_attention& a, const float* num, const float* phi_q, const float* z, void* out,
                      cudaStream_t stream) {
  const std::int64_t rows = a.heads * a.t;
  if (rows <= 0) return;
  if (rows > 2147483647LL) throw std::invalid_argument("linear attention readout: more than 2^31 - 1 rows");
  const float floor = fmaxf(a.den_floor, FLT_MIN);
  const dim3 grid(static_cast<unsigned>(rows));
  switch (a.type) {
    case dtype::fp32:
      normalise_kernel<<<grid, 128, 0, stream>>>(num, phi_q, z, a.t, a.features, a.dv, floor, static_cast<float*>(out));
      break;
    case dtype::fp16:
      normalise_kernel<<<grid, 128, 0, stream>>>(num, phi_q, z, a.t, a.features, a.dv, floor, static_cast<__half*>(out));
      break;
    case dtype::bf16:
      normalise_kernel<<<grid, 128, 0, stream>>>(num, phi_q, z, a.t, a.features, a.dv, floor,
                                                 static_cast<__nv_bfloat16*>(out));
      break;
  }
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::linear_cuda
