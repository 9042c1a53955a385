// SEA stage 2: grouped top-k in the compressed space (sea-algorithm.md §6). Query row t (sample b) reads
// Â row e = floor(t/s) of every head; its candidate cells are (h, bin) for every head h and every
// non-empty bin of row t's own partition (bins.hpp). Budgets:
//   causal_batch  B_t = min(C_t, max(1, round(H·k·k_oversample·K / L_t))) cells shared by all heads,
//                 C_t = H · (non-empty bins of row t);
//   query         per (head, query): min(n_t, max(1, round(k·k_oversample·K / L_t))), n_t = non-empty bins;
//   batch         per sample, over all heads and queries: min(C, max(1, round(H·k·k_oversample·K·T / L)))
//                 with L = T (non-causal only; causal rows would compete with future queries).
// Ties: the larger value wins; among equal values the lower flat index (h·K + b per row; h·T·K + t·K + b
// in batch mode) wins. NaN counts as −∞. round() is half away from zero.
#pragma once

#include <cstdint>

#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/types.hpp"

namespace sb::sea {

/// Selected cells per query row r = b·T + t: cells[row_ptr[r] .. row_ptr[r+1]) hold h·K + bin, ascending.
struct selection {
  tracked_buffer<std::int64_t> row_ptr;  ///< B·T + 1
  tracked_buffer<std::int32_t> cells;
};

/// The causal_batch budget B_t.
[[nodiscard]] std::int64_t grouped_budget(int heads, int k, double k_oversample, int K, int visible, std::int64_t cells);
/// The per-(head, query) budget of topk_mode = query.
[[nodiscard]] std::int64_t query_budget(int k, double k_oversample, int K, int visible, int nonempty_bins);

/// The selection's row offsets for the per-row modes (causal_batch, query): row_ptr[0..B·T] from the budget
/// rules alone (they do not depend on Â); returns the total. Throws std::logic_error in batch mode, whose
/// rows depend on the data.
std::int64_t per_row_offsets(const problem& p, const config& c, std::int64_t* row_ptr);

/// Select cells from Â [B, H, Te, K] (Te = ceil(T/s)).
[[nodiscard]] selection grouped_topk(const problem& p, const config& c, const float* ahat);

/// Cells selected over all rows, computed from the budget rules alone (batch mode: its total).
[[nodiscard]] std::int64_t selected_cells(const problem& p, const config& c);
/// Peak tracked bytes of grouped_topk() beyond Â, including the returned selection.
[[nodiscard]] std::size_t topk_bytes(const problem& p, const config& c);

}  // namespace sb::sea
