// SEA stage 4: sparse attention on the FlatCSR mask (sea-algorithm.md §9). Per (query, head) segment:
// SDDMM s_j = τ·q·k_j, a softmax over that head's selected keys only (stabilised by the segment max),
// the sigmoid row gate p ← p·σ(s0) when gates are on, and SpMM o = Σ p·v. An empty segment outputs 0.
// The per-segment work is sparse_common's attend_row (shared with window, BigBird and the oracles).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea {

/// out [B, H, T, D]. gates: [B, H, Te, 2] logits (s0 used here) or null for gates off.
void sparse_attend(const problem& p, const config& c, qkv_view in, const flat_csr& csr, const float* gates,
                   float* out);
/// Tracked scratch bytes of sparse_attend (one segment's scores).
[[nodiscard]] std::size_t sparse_attend_bytes(const problem& p);

[[nodiscard]] inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

struct mask_stats {
  double keys_per_query_mean = 0;  ///< mean segment length over all (b, h, t)
  std::int64_t keys_per_query_max = 0;
};
[[nodiscard]] mask_stats mask_statistics(const flat_csr& csr);

}  // namespace sb::sea
