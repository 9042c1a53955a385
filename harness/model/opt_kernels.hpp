// The OPT forward pass on CUDA: the element-wise and row kernels between its cuBLAS GEMMs
// (opt_kernels.cu), callable from host C++ (opt_forward_cuda.cpp) without nvcc. Every array is fp32,
// row-major, on the device; every launch is enqueued on `stream` and throws cuda_error on failure.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

namespace sb::model::cuda_kernels {

/// x[t, :] = tokens[ids[t], :] + positions[t + position_offset, :] for t < T.
void embed(const std::int32_t* ids, const float* tokens, const float* positions, int position_offset, int T, int C,
           float* x, cudaStream_t stream);

/// out[r, :] = LayerNorm(x[r, :]) · w + b (biased variance, eps), one block per row.
void layer_norm(const float* x, const float* w, const float* b, float eps, int rows, int cols, float* out,
                cudaStream_t stream);

/// out[r, c] += bias[c], then max(·, 0) when relu.
void add_bias(float* out, const float* bias, int rows, int cols, bool relu, cudaStream_t stream);

/// [T, H·D] → [H, T, D]
void split_heads(const float* x, int T, int H, int D, float* out, cudaStream_t stream);
/// [H, T, D] → [T, H·D]
void merge_heads(const float* x, int T, int H, int D, float* out, cudaStream_t stream);

/// Causal softmax of each row of `scores` ([heads·T, T], already scaled) in place: row r is query
/// i = r mod T and keeps keys j ≤ i; the others become 0.
void causal_softmax_rows(float* scores, int heads, int T, cudaStream_t stream);

/// nll[r] = logsumexp(logits[r, :]) − logits[r, targets[r]] for r < rows (fp32, max-subtracted).
void token_nll(const float* logits, const std::int32_t* targets, int rows, int vocab, float* nll, cudaStream_t stream);

}  // namespace sb::model::cuda_kernels

#endif  // SEABENCH_HAVE_CUDA
