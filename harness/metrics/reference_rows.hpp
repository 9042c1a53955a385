// Which query rows the fp64 reference evaluates: all of them for short sequences, otherwise a fixed,
// seeded sample per (batch, head) that always holds the first and last 16 positions and spreads the
// rest evenly over the position deciles (docs/metrics.md, "Reference rows").
#pragma once

#include <cstdint>
#include <vector>

#include "harness/core/measure_settings.hpp"
#include "harness/core/types.hpp"

namespace sb {

/// Positions always sampled at each end of the sequence.
inline constexpr int reference_edge_rows = 16;

/// Global row ids r = (b·H + h)·T + i, sorted ascending and unique.
/// Every row when T ≤ settings.ref_full_max_seq_len; otherwise min(ref_rows_per_head, T) rows per
/// (b, h): the first and last `reference_edge_rows` positions plus the rest stratified over the ten
/// position deciles, drawn from counter_rng(p.seed, rng_stream::metrics_rows). A pure function of
/// (shape, seed, settings). Throws std::invalid_argument for a negative ref_rows_per_head.
[[nodiscard]] std::vector<std::int64_t> choose_reference_rows(const problem& p, const measure_settings& settings);

}  // namespace sb
