// Shared kernels for attention restricted to an explicit key support (window, BigBird, the oracle
// top-k variants, and SEA's sparse stage): per (batch, head, query) row, scores s_j = τ·q·k_j over the
// row's keys, a max-subtracted softmax over them, and the weighted sum of V. An empty row outputs 0.
// Rows are indexed like attention_support: r = (b·H + h)·T + i.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "harness/core/memory_tracker.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sparse {

/// Σ_c a[c]·b[c] in fp32 with eight partial sums (vectorisable without -ffast-math).
[[nodiscard]] float dot(const float* a, const float* b, int d);

/// One row: out[0..d) = Σ_j softmax(τ·q·k_j)·v_j over j ∈ keys, where k_head and v_head are one head's
/// [T, d] matrices. `scores` is scratch of at least keys.size() floats. Returns the row's logsumexp
/// (−inf for an empty row, whose output is all zeros).
float attend_row(const float* q, const float* k_head, const float* v_head, int d, float tau,
                 std::span<const std::int32_t> keys, float* scores, float* out);

/// Row-key source: a callable (std::size_t bh, int i) -> std::span<const std::int32_t>, sorted unique
/// key ids of query i in head bh = b·H + h. It may write into its own scratch; the span must stay valid
/// until the next call.
template <typename RowKeys>
void attend_rows(const problem& p, qkv_view in, float* out, std::size_t max_row_keys, RowKeys&& row_keys) {
  const int t = p.seq_len, d = p.head_dim;
  const float tau = static_cast<float>(p.scale());
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads;
  const std::size_t head_elems = static_cast<std::size_t>(t) * d;
  tracked_buffer<float> scores(max_row_keys);
  for (std::size_t bh = 0; bh < heads; ++bh) {
    const std::size_t base = bh * head_elems;
    for (int i = 0; i < t; ++i) {
      const std::size_t off = base + static_cast<std::size_t>(i) * d;
      attend_row(in.q + off, in.k + base, in.v + base, d, tau, row_keys(bh, i), scores.data(), out + off);
    }
  }
}

/// Bytes attend_rows allocates (its score scratch).
[[nodiscard]] inline std::size_t attend_rows_scratch_bytes(std::size_t max_row_keys) {
  return max_row_keys * sizeof(float);
}

/// Empty a CSR support, ready for rows appended in r order by append_support_row.
inline void clear_support(attention_support& s) {
  s.row_ptr.assign(1, 0);
  s.cols.clear();
}

/// Append the next row's keys to a CSR support.
inline void append_support_row(attention_support& s, std::span<const std::int32_t> keys) {
  s.cols.insert(s.cols.end(), keys.begin(), keys.end());
  s.row_ptr.push_back(static_cast<std::int64_t>(s.cols.size()));
}

/// Fill a CSR support from the same row-key source (rows in r order).
template <typename RowKeys>
void build_support(const problem& p, attention_support& s, RowKeys&& row_keys) {
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads;
  clear_support(s);
  s.row_ptr.reserve(heads * p.seq_len + 1);
  for (std::size_t bh = 0; bh < heads; ++bh)
    for (int i = 0; i < p.seq_len; ++i) append_support_row(s, row_keys(bh, i));
}

/// The oracle variants' budget ladder: k = max(1, T/div) for div = 8, 4, 2, 1, without repeats, ascending.
[[nodiscard]] inline std::vector<budget_setting> oracle_budget_ladder(const problem& p) {
  std::vector<budget_setting> out;
  for (int div : {8, 4, 2, 1}) {
    const int k = std::max(1, p.seq_len / div);
    if (out.empty() || *out.back().k < k) out.push_back({{}, k});
  }
  return out;
}

/// The k-th largest of v[0..n) (1 ≤ k ≤ n), exactly. `work` is scratch of n values. For k ≪ n it
/// streams v once, keeping a buffer of up to 2k candidates above a rising threshold (compacted with
/// nth_element when full), so most elements cost one comparison. Values must not be NaN.
template <typename T>
T kth_largest(const T* v, int n, int k, T* work) {
  const auto greater = [](T a, T b) { return a > b; };
  int m = 0;
  if (2 * k >= n) {
    std::copy(v, v + n, work);
    m = n;
  } else {
    const int cap = 2 * k;
    bool have_threshold = false;
    T threshold{};
    for (int j = 0; j < n; ++j) {
      // Dropping a value equal to the threshold is safe: k values ≥ it are already kept.
      if (have_threshold && !(v[j] > threshold)) continue;
      work[m++] = v[j];
      if (m == cap) {
        std::nth_element(work, work + (k - 1), work + m, greater);
        threshold = work[k - 1];
        have_threshold = true;
        m = k;
      }
    }
  }
  std::nth_element(work, work + (k - 1), work + m, greater);
  return work[k - 1];
}

/// Exact top-`k` of `scores[0..n)` (larger first; ties: lower index wins), written to `sel` sorted
/// ascending by index; returns min(k, n). `work` is scratch of n floats; `sel` must hold min(k, n)
/// entries. One pass finds the k-th largest value (kth_largest), a second takes every score above it
/// and the lowest-index scores equal to it. Scores must not be NaN.
int topk_indices(const float* scores, int n, int k, std::int32_t* sel, float* work);

/// Number of (query, key) pairs a query block [q0, q0+nq) scores when it scores keys [0, key_end) with
/// key_end = q0+nq when causal, else T: what the oracles' blockwise GEMM computes.
[[nodiscard]] double blockwise_scored_pairs(int t, int query_block, bool causal);

}  // namespace sb::sparse
