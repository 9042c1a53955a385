// linear on CUDA (linear_cuda.cpp, linear_feature_kernels.cu): the instance linear's instantiate
// returns for device_kind::cuda. φ(x) = elu(x)+1 or relu(x)+1e-3 element-wise into fp32 [B·H, T, d]
// features, then the shared linear-attention products (linear_attention_cuda.hpp).
#pragma once

#include <cstddef>

#include "attention_variants/linear/linear_features.hpp"
#include "harness/core/variant.hpp"

namespace sb::linear_cuda {

/// Device bytes one call allocates above the inputs, output included (host-only: any build).
[[nodiscard]] std::size_t linear_memory_bytes(const problem& p);

}  // namespace sb::linear_cuda

#ifdef SEABENCH_HAVE_CUDA

#include <memory>

#include <cuda_runtime_api.h>

namespace sb::linear_cuda {

[[nodiscard]] std::unique_ptr<attention_instance> make_linear_instance(const problem& p, linear_features::kind feature);

/// phi[i] = φ(x[i]) in fp32 for n elements of x of type `type`.
void launch_linear_features(const void* x, dtype type, std::size_t n, linear_features::kind feature, float* phi,
                            cudaStream_t stream);

}  // namespace sb::linear_cuda

#endif  // SEABENCH_HAVE_CUDA
