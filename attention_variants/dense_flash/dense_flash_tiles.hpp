// dense_flash: the production kernel's tile sizes, visible to host code without CUDA (the executed-FLOP
// model in dense_flash.cpp counts the tiles the kernel computes). dense_flash.cu asserts they match
// the kernel configuration it launches.
#pragma once

namespace sb::dense_flash_tiles {

inline constexpr int query_block = 64;  ///< queries per thread block (4 warps × 16 rows)
inline constexpr int key_block = 64;    ///< keys per tile of the inner loop

/// Query-block × key-tile pairs the kernel computes for one head: every key tile up to T, or, when
/// causal, up to the block's last query (the tiles after it are skipped).
[[nodiscard]] inline double computed_tile_pairs(int t, bool causal) {
  double pairs = 0;
  for (int m0 = 0; m0 < t; m0 += query_block) {
    const int key_end = causal ? (m0 + query_block < t ? m0 + query_block : t) : t;
    pairs += (key_end + key_block - 1) / key_block;
  }
  return pairs;
}

}  // namespace sb::dense_flash_tiles
