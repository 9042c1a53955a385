// cosFormer's feature map on CUDA (cosformer_features.hpp): θ_i = (π/2)·(i+1)/M in fp64 and its sine
// and cosine rounded to fp32, as the CPU does, so both devices weight the same rows the same way.
#include "attention_variants/cosformer/cosformer_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::cosformer_cuda {
namespace {

template <typename T>
__global__ void features_kernel(const T* __restrict__ x, std::int64_t rows, int t, int d, float* __restrict__ phi) {
  const std::int64_t n = rows * d;
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < n;
       e += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t row = e / d;
    const int i = static_cast<int>(e % d);
    const int pos = static_cast<int>(row % t);
    const double theta = 1.5707963267948966 * (pos + 1) / t;  // π/2·(pos+1)/M
    const float s = static_cast<float>(sin(theta)), c = static_cast<float>(cos(theta));
    const float v = fmaxf(cuda::to_f32(x[e]), 0.0f);
    float* o = phi + row * 2 * d;
    o[i] = v * s;
    o[d + i] = v * c;
  }
}

}  // namespace

void launch_features(const void* x, dtype type, std::int64_t heads, int t, int d, float* phi, cudaStream_t stream) {
  const std::int64_t rows = heads * t;
  if (rows <= 0 || d <= 0) return;
  constexpr int threads = 256;
  const std::int64_t want = (rows * d + threads - 1) / threads;
  const auto blocks = static_cast<unsigned>(want < 65535 * 32 ? want : 65535 * 32);
  switch (type) {
    case dtype::fp32:
      features_kernel<<<blocks, threads, 0, stream>>>(static_cast<const float*>(x), rows, t, d, phi);
      break;
    case dtype::fp16:
      features_kernel<<<blocks, threads, 0, stream>>>(static_cast<const __half*>(x), rows, t, d, phi);
      break;
    case dtype::bf16:
      features_kernel<<<blocks, threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(x), rows, t, d, phi);
      break;
  }
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::cosformer_cuda
