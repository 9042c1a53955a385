// dense_stream on CUDA: the online-softmax kernel (dense_stream.cu), callable from host C++.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "harness/core/types.hpp"

namespace sb::dense_stream_cuda {

/// Largest head dimension the kernel handles (eight fp32 accumulators per lane).
inline constexpr int max_head_dim = 256;

/// O = softmax(τ·Q·Kᵀ)·V for `heads` independent [t, d] heads, Q/K/V/O device arrays of `type`
/// (fp32, fp16 or bf16), scores and accumulators in fp32. Causal: query i sees keys j ≤ i.
/// Needs d ≤ max_head_dim. Enqueued on `stream`; throws cuda_error for a launch failure.
void launch_stream_attention(const void* q, const void* k, const void* v, void* o, dtype type, std::int64_t heads,
                             int t, int d, bool causal, float tau, cudaStream_t stream);

}  // namespace sb::dense_stream_cuda

#endif  // SEABENCH_HAVE_CUDA
