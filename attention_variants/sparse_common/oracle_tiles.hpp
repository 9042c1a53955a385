// The oracles' CUDA pass (oracle_topk, oracle_topk_grouped): exact scores one tile of query rows at a
// time for every (batch, head) with one strided-batched cuBLAS GEMM, a per-row selection kernel
// (topk_select_cuda.hpp) writing fixed-stride key lists, and the shared row kernel
// (sparse_attend_cuda.hpp) over them. Scoring every visible pair makes them accuracy bounds, not speed
// contenders. The tile height is chosen so the [B·H, rows, T] fp32 score tile stays within
// tile_budget_bytes; the selection lists are at most as large again. Host-only part (tile planning) is
// compiled in every build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "harness/core/variant.hpp"

namespace sb::sparse {

/// Score-tile bytes the CUDA oracles aim for.
inline constexpr std::size_t oracle_tile_budget_bytes = std::size_t{256} << 20;

/// Query rows per CUDA tile: ⌊budget / (B·H·T·4)⌋ clamped to [1, T].
[[nodiscard]] int oracle_cuda_tile_rows(const problem& p);

/// Bytes one CUDA oracle call allocates: the output, the score tile, the lists (rows·stride) and
/// their counts.
[[nodiscard]] std::size_t oracle_cuda_bytes(const problem& p, std::int64_t stride);

/// Host copy of one tile's fixed-stride lists into per-row key vectors (rows r = bh·T + q0 + i),
/// for the support of the accuracy call.
void store_tile_lists(const problem& p, int q0, int nq, std::int64_t stride, const std::vector<std::int32_t>& cols,
                      const std::vector<std::int32_t>& counts, std::vector<std::vector<std::int32_t>>& rows);

}  // namespace sb::sparse

#ifdef SEABENCH_HAVE_CUDA

#include <cstdint>

#include "harness/cuda/device_buffer.hpp"

namespace sb::sparse {

/// Selection of one tile: fills the lists (device) from the score tile (device).
struct tile_selection {
  const float* scores;  ///< [B·H, nq, ld]
  int q0, nq, ld;
  std::int32_t* cols;
  std::int32_t* counts;
};

/// Runs the oracle pass for `p` on the device: per tile, GEMM → select(tile) → attend, and when
/// `support` is given, the lists copied back (synchronously) into it. `stride` is the list capacity.
class oracle_pass {
 public:
  oracle_pass();  ///< allocates the cuBLAS workspace from the pool (set-up)
  void run(const problem& p, qkv_view in, float* out, std::int64_t stride,
           const std::function<void(const tile_selection&)>& select, attention_support* support);

 private:
  cuda::device_buffer<std::uint8_t> m_workspace;
};

}  // namespace sb::sparse

#endif  // SEABENCH_HAVE_CUDA
