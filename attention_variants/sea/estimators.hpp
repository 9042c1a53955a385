// SEA stage 1: estimators of the compressed attention Â [B, H, Te, K] (sea-algorithm.md §3–§5, §19).
// Row e of Â belongs to query t = e·s (s = query_skip, Te = ceil(T/s)); its K values are a distribution
// over that row's own K bins (bins.hpp), the same bins the upsampler expands. Training-free backends:
//   oracle         Â_tb = Σ_{j∈bin(t,b)} softmax_j(τ·q_t·Kᵀ): exact, quadratic, streamed by query blocks.
//   pooled         softmax_b(τ·q_t·mean(k_j, j∈bin b) + log n_b); empty bins −∞; fp64 prefix sums.
//   performer_hist FAVOR+ (softmax kernel, favor.hpp) with V = a one-hot box basis: non-causal, the row
//                  bins themselves; causal, F = min(T, 4K) absolute fine bins, area-resampled per row.
// The trained backend (`performer`: Performer + encoder + CNN) lives in learned_estimator.hpp.
#pragma once

#include <cstddef>
#include <memory>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea {

/// Query rows per block of the oracle's streaming GEMM.
inline constexpr int oracle_query_block = 64;

class estimator {
 public:
  virtual ~estimator() = default;
  /// Fill Â [B, H, Te, K]; when has_gates(), also the gate logits [B, H, Te, 2] (s0 row gate, s1 mix).
  virtual void estimate(qkv_view in, float* ahat, float* gates) = 0;
  /// Weights loaded from a file (only the `performer` backend can be trained).
  [[nodiscard]] virtual bool trained() const { return false; }
  [[nodiscard]] virtual bool has_gates() const { return false; }
};

/// Make the configured backend. `performer` loads `c.weights` (sb::data_error naming a bad tensor) or
/// draws seeded random weights; performer_hist draws its projection from counter_rng(seed, features).
[[nodiscard]] std::unique_ptr<estimator> make_estimator(const problem& p, const config& c);

/// Peak tracked bytes estimate() allocates beyond Â and the gates (its scratch).
[[nodiscard]] std::size_t estimator_scratch_bytes(const problem& p, const config& c);
/// Executed FLOPs of estimate() (multiply-add = 2).
[[nodiscard]] double estimator_flops(const problem& p, const config& c);

/// Oracle rows of one head: out[i·K + b] = exact attention mass of bin b of query t_i = t0 + i·stride,
/// i < n ≤ oracle_query_block. scores: scratch of n·T floats; bounds: K+1 ints.
void oracle_rows(const problem& p, upsample_mode up, int K, const float* q_head, const float* k_head, int t0,
                 int stride, int n, float* scores, int* bounds, float* out);

/// performer_hist, causal: the absolute fine-bin count F = min(T, 4K); key j is in fine bin floor(j·F/T).
[[nodiscard]] int hist_fine_bins(int seq_len, int K);

/// Softmax over one row of K scores in place (−inf entries become 0; the row must hold a finite entry).
void softmax_row(float* row, int K);

}  // namespace sb::sea
