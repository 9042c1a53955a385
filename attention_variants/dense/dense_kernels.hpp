// dense on CUDA: the row-softmax kernel between the two cuBLAS GEMMs (dense.cu), callable from host
// C++ (dense_cuda.cpp) without nvcc.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "harness/core/types.hpp"

namespace sb::dense_cuda {

/// Softmax of each row of `scores` ([rows, t] fp32, row-major, already scaled by τ) in place.
/// Causal: row r is query i = r mod t and keeps keys j ≤ i; the others become 0. The probabilities
/// are written as `prob_type`: fp32 over the scores; fp16 / bf16 packed at the start of each row's
/// own storage, so row r of P starts at element 2·t·r of a half-typed view (leading dimension 2t).
/// Enqueued on `stream`; throws cuda_error for a launch failure.
void launch_softmax_rows(float* scores, std::int64_t rows, int t, bool causal, dtype prob_type, cudaStream_t stream);

}  // namespace sb::dense_cuda

#endif  // SEABENCH_HAVE_CUDA
