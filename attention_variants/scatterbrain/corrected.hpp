// ScatterBrain's low-rank + sparse combination without double counting (Chen et al., NeurIPS 2021;
// baselines.md §10, `scatterbrain=corrected`), for one head, over any sparse support:
//
//   num_i = φ(q_i)ᵀ Σ_j φ(k_j)v_jᵀ + Σ_{j∈S_i} (ê_ij − φ(q_i)·φ(k_j))·v_j,   den_i likewise with v → 1,
//   o_i = num_i / den_i,
//
// where φ are FAVOR+ softmax features (favor.hpp) and ê_ij = exp(τ·q_i·k_j − c_i − ρ_i) is the exact
// kernel with the SAME stabilisers as the features: c_i the query's per-row stabiliser, ρ_i the key
// reference of row i (non-causal: the head's key constant c_K; causal: the running key maximum r_i).
// On S_i the Performer estimate is replaced by the exact value; off S_i it is kept. Causal sums run
// over j ≤ i. When S_i holds every visible key, the low-rank terms cancel exactly, so the row is
// computed as Σ_{j∈S_i} ê_ij·v_j / Σ ê_ij directly (exact softmax attention, no cancellation error).
// Each row's terms are rescaled by a common e^{−L}, L = max(max_{j∈S_i} log ê_ij, log den_i^{Performer}),
// so large logits (ê_ij beyond fp32) cannot overflow; the factor cancels in o_i.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "attention_variants/performer/favor.hpp"
#include "harness/core/memory_tracker.hpp"

namespace sb::scatterbrain {

/// Row i's exact-score support: sorted (or at least duplicate-free) key positions, all ≤ i when causal.
using support_fn = std::function<std::span<const std::int32_t>(int i)>;

/// Tracked scratch for corrected_head() on heads of up to max_t positions.
class corrected_workspace {
 public:
  corrected_workspace(int m, int max_t, int dv, int chunk, bool causal);
  [[nodiscard]] static std::size_t bytes(int m, int max_t, int dv, int chunk, bool causal);

 private:
  friend std::int64_t corrected_head(const favor::projection&, float, bool, const favor::head_io&, const support_fn&,
                                     corrected_workspace&);
  int m_m, m_max_t, m_dv, m_chunk;
  bool m_causal;
  tracked_buffer<float> m_kphi;    ///< [max_t, m] key features, relative to their reference
  tracked_buffer<float> m_kscale;  ///< [max_t] causal key log-scales r_j
  tracked_buffer<float> m_kchunk;  ///< [chunk, m] causal: the copy the scan rescales in place
  tracked_buffer<float> m_qphi;    ///< [chunk, m]
  tracked_buffer<float> m_qstab;   ///< [chunk] query stabilisers c_i
  tracked_buffer<float> m_num;     ///< [chunk, dv] unnormalised numerators
  tracked_buffer<float> m_den;     ///< [chunk]
  tracked_buffer<float> m_scores;  ///< [max_t] one row's exact log-kernels on its support
  favor::linear_scan m_scan;
};

/// One head of the corrected combination (softmax kernel, projection w, feature ε = eps). q, k are
/// [t, w.d]; v, out [t, dv]. Returns Σ_i |S_i| (exact pairs computed). Throws std::invalid_argument
/// when the head does not fit the workspace or a causal support holds a key after its row.
std::int64_t corrected_head(const favor::projection& w, float eps, bool causal, const favor::head_io& io,
                            const support_fn& support, corrected_workspace& ws);

}  // namespace sb::scatterbrain
