// SEA stage 3 on CUDA: the FlatCSR of flat_csr.hpp built on the device in three steps, as on the CPU:
// a count pass (one thread per query row: each selected cell's kept-key count, the head offsets `hoff`
// and every cell's offset inside its row), an exclusive scan of the row counts into row_ptr
// (cub::DeviceScan), and a fill pass (one warp per row, one lane per cell) writing each cell's
// keys with emit_cell_keys (bins.hpp, shared with the CPU). `col` is sized from the plan's bound
// (sea_plan.hpp), so nothing waits for the count pass on the host.
#pragma once

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include <cuda_runtime_api.h>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/cuda/device_buffer.hpp"

namespace sb::sea::gpu {

/// The device FlatCSR: the layout of flat_csr (row r = b·T + t; hoff relative to the row start).
struct device_flat_csr {
  cuda::device_buffer<std::int64_t> row_ptr;  ///< B·T + 1
  cuda::device_buffer<std::int32_t> hoff;     ///< B·T·(H+1)
  cuda::device_buffer<std::int32_t> col;      ///< capacity max_nnz ≥ row_ptr[B·T]
};

/// Expand the selection (device: sel_row_ptr [B·T+1], cells [total_cells]) into a FlatCSR with room for
/// max_nnz keys (sea_plan's bound; the kernels never write past it).
[[nodiscard]] device_flat_csr upsample(const problem& p, const config& c, const std::int64_t* sel_row_ptr,
                                       const std::int32_t* cells, std::int64_t total_cells, std::int64_t max_nnz,
                                       cudaStream_t stream);

}  // namespace sb::sea::gpu

#endif  // SEABENCH_HAVE_CUDA
