// BigBird ITC block layout (Zaheer et al. 2020; HF `BigBirdBlockSparseAttention`), shared by the
// variant and its tests. T is split into nb = ceil(T/b) blocks; the last block may be partial, which
// is HF's pad-to-a-multiple-of-b with the padded keys masked.
//
// Non-causal (ITC):
//   * query blocks 0 and nb−1 are global rows: every key;
//   * any other query block q sees key blocks {0, nb−1} (global) ∪ {q−1, q, q+1} (window) ∪ r random
//     blocks drawn without replacement from {1 … nb−2} \ {q−1, q, q+1} (never window or global), so a
//     middle row has (5+r)·b keys and the second / second-to-last rows (4+r)·b, as in HF.
// Causal (a harness extension, not part of ITC): future blocks and the trailing global block are
//   dropped and the diagonal block is masked (key j ≤ i). Query block q sees {0} ∪ {q−1, q} ∪
//   min(r, q−2) random blocks drawn from the past blocks {1 … q−2}; there are no global rows.
// Full-attention fallback (as HF): when nb ≤ 5 + 2r, every row attends every visible key.
//
// Random blocks, per (head, query block) and shared by the batch, come from
// counter_rng(seed, rng_stream::blocks) at draw positions (h·nb + q)·r + t, t = 0 … r−1: a partial
// Fisher–Yates shuffle of the ascending candidate list, draw t picking index t + below(n − t).
#pragma once

#include <cstdint>
#include <vector>

namespace sb::bigbird {

struct layout {
  int t = 0;
  int block = 0;
  int nb = 0;               ///< number of blocks, ceil(t / block)
  int heads = 0;
  int random_blocks = 0;
  bool causal = false;
  bool fallback = false;    ///< nb ≤ 5 + 2r: full attention
  /// Per (head, query block) h·nb + q: sorted key blocks in blocks[ptr[h·nb+q] … ptr[h·nb+q+1]).
  /// Empty for global rows and in fallback (all visible keys).
  std::vector<std::int64_t> ptr;
  std::vector<std::int32_t> blocks;
  /// Random blocks only (sorted), same indexing, for tests and inspection.
  std::vector<std::int64_t> random_ptr;
  std::vector<std::int32_t> random;

  /// True when query block q attends every visible key (global row or fallback).
  [[nodiscard]] bool all_keys(int q) const { return fallback || (!causal && (q == 0 || q == nb - 1)); }
  /// Sorted key ids of query i in head h into buf (capacity t); returns how many.
  int row(int h, int i, std::int32_t* buf) const;
  [[nodiscard]] int row_size(int h, int i) const;
  [[nodiscard]] int max_row() const;
  [[nodiscard]] double pairs() const;  ///< Σ over heads and rows of row_size (one batch element)
};

/// HF's fallback rule: full attention when ceil(T/b) ≤ 5 + 2r.
[[nodiscard]] bool falls_back(int t, int block, int random_blocks);

[[nodiscard]] layout make_layout(int t, int heads, int block, int random_blocks, bool causal, std::uint64_t seed);

}  // namespace sb::bigbird
