// CUDA per-row key selection of the oracle variants, over a tile of exact scores from a cuBLAS GEMM
// (kernels in topk_select.cu; host C++ may call them without nvcc). Both write fixed-stride key lists
// for sparse_attend_cuda.hpp (list l = bh·nq + r holds counts[l] keys at cols[l·stride …], ascending)
// and match the CPU oracles' rules exactly, ties included. Selection is a radix select on the
// order-preserving integer image of the value (8 bits per pass: 4 passes for fp32, 8 for fp64), then
// an ordered block-wide compaction, never a sort.
//
// Score tile layout: [B·H, nq, ld] fp32, row r of head bh is query i = q0 + r, holding τ·q_i·k_j for
// j < ld (ld = q0 + nq when causal, else T). Row i's visible keys are j < i + 1 (causal) or j < T.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

namespace sb::sparse::cuda_kernels {

struct score_tile {
  const float* scores = nullptr;  ///< [B·H, nq, ld] (device)
  int batch = 1, heads = 1, t = 1;
  int q0 = 0, nq = 0, ld = 0;
  bool causal = false;
};

/// oracle_topk: per (head, query) the min(k, visible) keys with the largest scores (ties: lower key
/// index), as sparse::topk_indices. `cols` holds B·H·nq lists of `stride` ≥ min(k, T) keys.
void launch_topk_rows(const score_tile& s, int k, std::int32_t* cols, std::int32_t* counts, std::int64_t stride,
                      cudaStream_t stream);

/// oracle_topk_grouped: per (batch, query) the best min(H·k, H·L) (head, key) pairs by fp64
/// log-probability s − lse_h (lse_h = max + log Σ exp(s − max) with the sum in fp64, as the CPU), ties
/// taken in (key, head) order; each head's keys land in its own list. `stride` ≥ min(H·k, T).
void launch_grouped_topk_rows(const score_tile& s, std::int64_t k, std::int32_t* cols, std::int32_t* counts,
                              std::int64_t stride, cudaStream_t stream);

}  // namespace sb::sparse::cuda_kernels

#endif  // SEABENCH_HAVE_CUDA
