// linear's feature map on CUDA: the element-wise φ of linear_features.hpp, widened to fp32.
#include "attention_variants/linear/linear_cuda.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "harness/cuda/cuda_error.hpp"
#include "harness/cuda/device_convert.cuh"

namespace sb::linear_cuda {
namespace {

template <typename T>
__global__ void features_kernel(const T* __restrict__ x, std::size_t n, int relu, float* __restrict__ phi) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    const float v = cuda::to_f32(x[i]);
    phi[i] = relu ? fmaxf(v, 0.0f) + 1e-3f : (v > 0.0f ? v + 1.0f : expf(v));
  }
}

}  // namespace

void launch_linear_features(const void* x, dtype type, std::size_t n, linear_features::kind feature, float* phi,
                            cudaStream_t stream) {
  if (n == 0) return;
  constexpr int threads = 256;
  const std::size_t want = (n + threads - 1) / threads;
  const auto blocks = static_cast<unsigned>(want < 65535u * 32u ? want : 65535u * 32u);
  const int relu = feature == linear_features::kind::relu ? 1 : 0;
  switch (type) {
    case dtype::fp32: features_kernel<<<blocks, threads, 0, stream>>>(static_cast<const float*>(x), n, relu, phi); break;
    case dtype::fp16: features_kernel<<<blocks, threads, 0, stream>>>(static_cast<const __half*>(x), n, relu, phi); break;
    case dtype::bf16:
      features_kernel<<<blocks, threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(x), n, relu, phi);
      break;
  }
  SB_CUDA_CHECK_LAUNCH();
}

}  // namespace sb::linear_cuda
