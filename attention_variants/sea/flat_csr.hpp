// SEA stage 3: upsampling the selected cells to keys, held in a FlatCSR (sea-algorithm.md §7–§8).
// One row per (sample, query) r = b·T + t; within a row, entries are ordered by head, then bin, then key,
// so each (query, head) segment is sorted and duplicate-free. `hoff` gives each head's segment directly:
// the keys of head h in row r are col[row_ptr[r] + hoff[r·(H+1) + h] .. row_ptr[r] + hoff[r·(H+1) + h+1]).
// A selected cell (h, b) of row t expands to its span (bins.hpp) and keeps cell_keep() of its keys:
// all of them (nearest, k_oversample = 1), at most k strided from the right end (csr), and with
// k_oversample > 1, ceil(n'/k_oversample) of them by the same stride.
#pragma once

#include <cstdint>
#include <span>

#include "attention_variants/sea/sea_config.hpp"
#include "attention_variants/sea/topk.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea {

struct flat_csr {
  int batch = 0, heads = 0, seq_len = 0;
  tracked_buffer<std::int64_t> row_ptr;  ///< B·T + 1
  tracked_buffer<std::int32_t> hoff;     ///< B·T·(H+1), relative to the row start
  tracked_buffer<std::int32_t> col;      ///< key ids

  [[nodiscard]] std::size_t rows() const { return static_cast<std::size_t>(batch) * seq_len; }
  [[nodiscard]] std::int64_t nnz() const { return row_ptr.size() ? row_ptr[rows()] : 0; }
  /// Keys of head h in row r = b·T + t.
  [[nodiscard]] std::span<const std::int32_t> segment(std::size_t r, int h) const {
    const std::int32_t* ho = hoff.data() + r * (heads + 1);
    return {col.data() + row_ptr[r] + ho[h], static_cast<std::size_t>(ho[h + 1] - ho[h])};
  }
};

/// Expand a selection into a FlatCSR (two passes: counts, then keys).
[[nodiscard]] flat_csr upsample(const problem& p, const config& c, const selection& sel);

/// The harness's support: rows (b·H + h)·T + t, sorted unique keys (each head's segment).
void to_attention_support(const flat_csr& csr, attention_support& out);

/// Expected key count of the whole FlatCSR from the budget rules (each selected cell assumed to have the
/// mean kept size of its row's non-empty bins; exact for every mode when all cells are selected).
[[nodiscard]] double expected_nnz(const problem& p, const config& c);
/// Tracked bytes of a FlatCSR with `nnz` keys.
[[nodiscard]] std::size_t flat_csr_bytes(const problem& p, double nnz);

}  // namespace sb::sea
