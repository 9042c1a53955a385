// Training-free block sorting for Sinkhorn-style attention (Tay et al., ICML 2020), one (batch, head)
// at a time. The sequence is cut into blocks of b positions (the last one ragged). Each query block a
// gets a summary q̄_a and each key block c a summary k̄_c; the block logits are R_ac = q̄_a·k̄_c/√D.
// Each query block then attends to its own block plus the n_c key blocks it is sorted to:
//
//   * pooled_topk: the n_c candidates with the largest R_ac (the default path of sinkhorn-transformer,
//     whose AttentionSortNet is this parameter-free pooled similarity followed by a top-1).
//   * pooled_sinkhorn: log-space Sinkhorn balancing of R/temperature for `iters` rounds (rows, then
//     columns), then the n_c largest balanced entries per row. Non-causal only: column normalisation
//     mixes every query block into every row, future blocks included.
//
// Candidates are the other blocks (c ≠ a) non-causally and the past blocks (c < a) causally; the
// own block is always attended, with j ≤ i inside it when causal. Summaries: k̄_c is the mean key of
// block c; q̄_a is the mean query of block a, or causally the mean of q_0 … q_{a·b} (the cumulative
// mean at the block's first token, sinkhorn-transformer's CausalAttentionSortNet), so no summary uses
// a position after the queries it serves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "harness/core/memory_tracker.hpp"

namespace sb::block_sort {

enum class method { pooled_topk, pooled_sinkhorn };

struct config {
  int seq_len = 1;
  int head_dim = 1;
  int block = 1;        ///< b (= k)
  int n_sorted = 1;     ///< n_c: sorted-in blocks per query block
  int iters = 5;        ///< Sinkhorn rounds (pooled_sinkhorn)
  float temperature = 0.75f;
  bool causal = false;
  method sort = method::pooled_topk;
  float scale = 1.0f;   ///< τ = 1/√D, for block logits and attention scores

  [[nodiscard]] int n_blocks() const { return (seq_len + block - 1) / block; }
  [[nodiscard]] int block_begin(int a) const { return a * block; }
  [[nodiscard]] int block_end(int a) const { return a == n_blocks() - 1 ? seq_len : (a + 1) * block; }
  [[nodiscard]] int block_len() const { return block < seq_len ? block : seq_len; }
  /// Candidate key blocks of query block a.
  [[nodiscard]] int candidates(int a) const { return causal ? a : n_blocks() - 1; }
  /// Sorted-in blocks of query block a: min(n_c, candidates).
  [[nodiscard]] int n_select(int a) const { return n_sorted < candidates(a) ? n_sorted : candidates(a); }
  /// Most sorted-in blocks any query block has.
  [[nodiscard]] int max_select() const;
  /// Most keys one query block sees: (1 + max_select)·b.
  [[nodiscard]] int max_window() const { return (1 + max_select()) * block_len(); }
  /// Σ over query blocks of (queries × keys attended): the score entries one head computes.
  [[nodiscard]] std::int64_t pairs() const;
};

class head_workspace {
 public:
  explicit head_workspace(const config& cfg);
  [[nodiscard]] static std::size_t bytes(const config& cfg);

  /// Block summaries [n_blocks, D], valid after sort_blocks.
  [[nodiscard]] const float* q_summary() const { return m_qbar.data(); }
  [[nodiscard]] const float* k_summary() const { return m_kbar.data(); }
  /// Sorted-in key blocks of query block a, best first (n_select(a) of them).
  [[nodiscard]] const std::int32_t* selected(int a) const {
    return m_selected.data() + static_cast<std::size_t>(a) * m_max_select;
  }
  /// pooled_sinkhorn: the balanced log-matrix [n_blocks, n_blocks] (−inf off the candidates).
  [[nodiscard]] const float* balanced() const { return m_logits.data(); }

 private:
  friend double sort_blocks(const config&, const float*, const float*, head_workspace&);
  friend void attend(const config&, const float*, const float*, const float*, head_workspace&, float*);
  int m_max_select;
  tracked_buffer<float> m_qbar, m_kbar;        // [n_blocks, D]
  tracked_buffer<float> m_logits;              // [n_blocks, n_blocks] (sinkhorn) or [n_blocks] (one row)
  tracked_buffer<float> m_col;                 // [n_blocks] column logsumexp (sinkhorn)
  tracked_buffer<std::int32_t> m_candidates;   // [n_blocks] for the top-n_c selection
  tracked_buffer<std::int32_t> m_selected;     // [n_blocks, max_select]
  tracked_buffer<float> m_k, m_v;              // [max_window, D] gathered keys and values
  tracked_buffer<float> m_s;                   // [b, max_window] scores, then probabilities
};

/// Log-space Sinkhorn on an n×n matrix in place: `iters` rounds of row then column logsumexp
/// subtraction. −inf entries stay −inf; rows or columns with no finite entry are left alone.
void sinkhorn_log(float* logits, int n, int iters, float* col_scratch);

/// Largest |Σ_c exp(L_ac) − 1| over rows and columns that have a finite entry.
[[nodiscard]] double balance_error(const float* logits, int n);

/// Summaries, block logits and the selection for one head (q, k: [T, D]). Returns the balance error
/// of the Sinkhorn matrix (pooled_sinkhorn) or 0.
double sort_blocks(const config& cfg, const float* q, const float* k, head_workspace& ws);

/// Attention of one head given its selection: out [T, D].
void attend(const config& cfg, const float* q, const float* k, const float* v, head_workspace& ws, float* out);

/// Keys attended by row i (own block, causal j ≤ i, then the selected blocks), sorted ascending.
void row_keys(const config& cfg, const head_workspace& ws, int i, std::vector<std::int32_t>& keys);

/// Executed FLOPs of one head (multiply-add = 2): pooling, block logits, Sinkhorn rounds, attention.
[[nodiscard]] double flops_per_head(const config& cfg);

}  // namespace sb::block_sort
