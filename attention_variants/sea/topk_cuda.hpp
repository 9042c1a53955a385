// SEA stage 2 on CUDA: the grouped top-k of topk.hpp (causal_batch and query modes). Rows *select*,
// never sort, with the CPU's order exactly (larger value first, ties to the lower h·K + bin, NaN as −∞,
// −0 equal to +0), in one of two kernels by the candidates per selection n (H·K, or K in query mode):
//   n ≤ 1024 (every paper shape): one warp per row counts each candidate's rank among the row's
//            candidates (shared memory, 64-bit keys that cannot tie) and keeps those ranked below budget;
//   n > 1024: one block per row, an MSB-first 8-bit radix select over the order-preserving float bits
//            finds the budget's threshold, then one block-scan pass in flat-index order keeps every cell
//            above it and the lowest-index cells equal to it. The row offsets of the selection
// do not depend on Â (topk.hpp per_row_offsets): the caller passes them from the plan.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"

namespace sb::sea::gpu {

/// Select cells from Â (device, fp32 [B, H, Te, K]) into cells (device, row_ptr[B·T] int32): row r's cells
/// go to cells[row_ptr[r] .. row_ptr[r+1]) as h·K + bin, ascending, as grouped_topk() on the CPU.
/// row_ptr: device copy of per_row_offsets(). Throws sb::unsupported_case for topk_mode = batch.
void grouped_topk(const problem& p, const config& c, const float* ahat, const std::int64_t* row_ptr,
                  std::int32_t* cells, cudaStream_t stream);

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
