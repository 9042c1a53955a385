// sinkhorn's block sort and block attention on CUDA (kernels in block_sort.cu, callable from host C++
// without nvcc). Same rules as the CPU (block_sort.hpp): block summaries (mean key; mean query, or
// causally the mean of q_0 … q_{a·b}, accumulated in the CPU's order), block logits q̄_a·k̄_c·τ, the
// n_select(a) best candidates per query block (ties: lower block index), optionally after log-space
// Sinkhorn balancing of the full logit matrix / temperature; then each query row attends its own
// block (causal j ≤ i) and the selected blocks, one warp per row (sparse_common/attend_row_warp.cuh).
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "harness/core/types.hpp"

namespace sb::block_sort::cuda_kernels {

struct shape {
  const void* q = nullptr;  ///< [B, H, T, D] in `type` (device)
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  dtype type = dtype::fp32;
  int heads_total = 1;      ///< B·H
  int t = 1, d = 1;
  int block = 1, nb = 1;    ///< b and ⌈T/b⌉
  int n_sorted = 1;         ///< n_c
  int max_select = 1;       ///< row stride of `selected` (≥ 1)
  bool causal = false;
  float scale = 1.0f;       ///< τ
};

/// q̄ and k̄, [B·H, nb, D] fp32 each.
void launch_summaries(const shape& s, float* qbar, float* kbar, cudaStream_t stream);

/// pooled_topk: selected[bh, a, 0 … n_select(a)) = the best candidate blocks by τ·q̄_a·k̄_c, best first.
void launch_select_pooled(const shape& s, const float* qbar, const float* kbar, std::int32_t* selected,
                          cudaStream_t stream);

/// pooled_sinkhorn (non-causal): logits [B·H, nb, nb] = τ/temperature·q̄·k̄ᵀ with −inf on the diagonal,
/// `iters` rounds of row then column log-normalisation in place, then the best n_select(a) per row.
void launch_select_sinkhorn(const shape& s, const float* qbar, const float* kbar, float temperature, int iters,
                            float* logits, std::int32_t* selected, cudaStream_t stream);

/// out = each row's attention over its own block and its query block's selected blocks.
void launch_block_attend(const shape& s, const std::int32_t* selected, cudaStream_t stream);

}  // namespace sb::block_sort::cuda_kernels

#endif  // SEABENCH_HAVE_CUDA
