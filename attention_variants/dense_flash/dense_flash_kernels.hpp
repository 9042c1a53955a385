// dense_flash on CUDA: the tensor-core kernel's host entry point (dense_flash.cu), callable from C++.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "harness/core/types.hpp"

namespace sb::dense_flash_cuda {

/// O = softmax(τ·Q·Kᵀ)·V for `heads` independent [t, d] heads; Q/K/V/O device arrays of `type`
/// (fp16 or bf16, 16-byte aligned), fp32 accumulation. Causal: query i sees keys j ≤ i. Needs
/// d ∈ {64, 128} (flash_supported). Enqueued on `stream`; throws std::invalid_argument for an
/// unsupported shape or pointer, cuda_error for a launch failure.
void launch_flash_attention(const void* q, const void* k, const void* v, void* o, dtype type, std::int64_t heads,
                            int t, int d, bool causal, float tau, cudaStream_t stream);

}  // namespace sb::dense_flash_cuda

#endif  // SEABENCH_HAVE_CUDA
