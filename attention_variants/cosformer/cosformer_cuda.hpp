// cosformer on CUDA (cosformer_cuda.cpp, cosformer_feature_kernels.cu): the instance cosformer's
// instantiate returns for device_kind::cuda. Features [ReLU(x)·sin θ_i | ReLU(x)·cos θ_i] (2d per row,
// θ in fp64 as on the CPU) into fp32 [B·H, T, 2d], then the shared linear-attention products
// (attention_variants/linear/linear_attention_cuda.hpp).
#pragma once

#include <cstddef>

#include "harness/core/variant.hpp"

namespace sb::cosformer_cuda {

/// Device bytes one call allocates above the inputs, output included (host-only: any build).
[[nodiscard]] std::size_t memory_bytes(const problem& p);

}  // namespace sb::cosformer_cuda

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>
#include <memory>

#include <cuda_runtime_api.h>

namespace sb::cosformer_cuda {

[[nodiscard]] std::unique_ptr<attention_instance> make_instance(const problem& p);

/// phi [heads·t, 2d] fp32 from x [heads·t, d] of type `type`; row r sits at position r mod t and the
/// sequence scale is M = t (cosformer_features.hpp).
void launch_features(const void* x, dtype type, std::int64_t heads, int t, int d, float* phi, cudaStream_t stream);

}  // namespace sb::cosformer_cuda

#endif  // SEABENCH_HAVE_CUDA
