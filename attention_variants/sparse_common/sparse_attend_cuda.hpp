// CUDA building block of the sparse baselines (window, BigBird, sinkhorn, the two oracles): softmax
// attention of each query row over its own list of keys, callable from host C++ without nvcc
// (kernels in sparse_attend.cu). One warp per row: the row's query and accumulator live in registers
// (D ≤ 256), each listed key and value is read once, the softmax is online in fp32 (running max and
// sum, as the CPU's max-subtracted softmax up to rounding), and inputs may be fp32, fp16 or bf16.
// An empty row outputs 0 (and logsumexp −inf), as sparse::attend_row does on the CPU.
//
// Which rows and where their keys are (key_lists):
//   * queries i0 … i0+nq−1 of every (batch, head) bh < B·H;
//   * the list of row (bh, i) is list l = pattern(bh)·nq + (i − i0), where pattern(bh) is 0 when
//     patterns = 1, bh % H when patterns = H, bh when patterns = B·H (row_key_pattern.hpp);
//   * list l is cols[row_ptr[l] … row_ptr[l+1]) when row_ptr is given (CSR, planned on the host or
//     built on the device), else cols[l·stride … l·stride + counts[l]) (fixed-stride lists written
//     by a selection kernel on the device).
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "harness/core/types.hpp"

namespace sb::sparse::cuda_kernels {

/// The largest head dimension the row kernel holds in registers (larger D: std::invalid_argument).
inline constexpr int max_head_dim = 256;

struct key_lists {
  const std::int64_t* row_ptr = nullptr;  ///< CSR offsets (device), or nullptr for fixed-stride lists
  const std::int32_t* cols = nullptr;     ///< key ids (device)
  const std::int32_t* counts = nullptr;   ///< fixed-stride mode: keys in each list (device)
  std::int64_t stride = 0;                ///< fixed-stride mode: list l starts at l·stride
  int patterns = 1;                       ///< 1, H or B·H
  int i0 = 0;                             ///< first query row covered
  int nq = 0;                             ///< query rows covered per (batch, head)
};

struct attend_args {
  const void* q = nullptr;  ///< [B, H, T, D] in `type` (device)
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;      ///< [B, H, T, D] in `type`; only the covered rows are written
  float* lse = nullptr;     ///< optional [B·H, nq] logsumexp of each covered row's scores
  int batch = 1, heads = 1, t = 1, d = 1;
  float tau = 1.0f;         ///< score = τ·q·k
  dtype type = dtype::fp32;
};

/// Enqueue the row attention on `stream`. Throws std::invalid_argument for D > max_head_dim or
/// more rows than one launch can address, cuda_error for a launch failure.
void launch_attend_rows(const attend_args& a, const key_lists& keys, cudaStream_t stream);

}  // namespace sb::sparse::cuda_kernels

#endif  // SEABENCH_HAVE_CUDA
