// Launch plan of the CUDA chunked causal linear-attention scan (causal_scan.cu): how many value
// columns one thread block owns and how much shared memory it needs. Host-only and compiled in every
// build, so the planning is tested on machines without a GPU.
//
// One block scans one head for `value_tile` value columns. Its shared memory holds the fp32 running
// state S [F, value_tile] and z [F], the chunk's masked scores A [C, C], the chunk's values
// [C, value_tile] and three per-row factors [C]: F·tile + F + C² + C·tile + 3C floats.
#pragma once

#include <cstddef>
#include <optional>

namespace sb::linear_cuda {

/// Positions per chunk of the causal scan (the masked quadratic block is C × C).
inline constexpr int scan_chunk = 64;
/// Threads per scan block.
inline constexpr int scan_threads = 256;
/// The opt-in dynamic shared memory of one block on sm_90 (H100 / H200): 227 KiB.
inline constexpr std::size_t sm90_max_shared_bytes = 227 * 1024;

struct causal_scan_plan {
  int value_tile = 0;            ///< value columns per block (the grid's y extent is ceil(dv / value_tile))
  std::size_t shared_bytes = 0;  ///< dynamic shared memory per block
};

/// Shared bytes of one block for `features` features and `tile` value columns.
[[nodiscard]] constexpr std::size_t causal_scan_shared_bytes(int features, int tile) {
  const auto f = static_cast<std::size_t>(features), v = static_cast<std::size_t>(tile);
  const auto c = static_cast<std::size_t>(scan_chunk);
  return (f * v + f + c * c + c * v + 3 * c) * sizeof(float);
}

/// The widest tile of {32, 16, 8, 4, 2, 1} value columns (never wider than dv) whose shared memory fits
/// in `max_shared_bytes`, or nullopt when even one column does not fit (too many features).
[[nodiscard]] constexpr std::optional<causal_scan_plan> plan_causal_scan(int features, int dv,
                                                                       std::size_t max_shared_bytes) {
  if (features < 1 || dv < 1) return std::nullopt;
  for (int tile = 32; tile >= 1; tile /= 2) {
    if (tile > dv && tile > 1) continue;
    const std::size_t bytes = causal_scan_shared_bytes(features, tile);
    if (bytes <= max_shared_bytes) return causal_scan_plan{tile, bytes};
  }
  return std::nullopt;
}

}  // namespace sb::linear_cuda
