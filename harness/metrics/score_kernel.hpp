// Internal to the metrics: the fp64 score kernel shared by the exact reference and the accuracy
// metrics (so both see bit-identical scores), row grouping and a small deterministic thread pool.
// Not a public API; variants never include this.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "harness/core/types.hpp"

namespace sb::metrics_detail {

/// Rows of one (b, h) scored together, so each key row is read once for the whole group.
inline constexpr int group_width = 8;

/// Up to group_width rows of one (b, h); `index` are positions in the caller's row list.
struct row_group {
  std::int64_t bh = 0;
  int size = 0;
  std::array<std::int64_t, group_width> pos{};     ///< query positions i within the head
  std::array<std::size_t, group_width> index{};    ///< where the row sits in the caller's list
};

/// Keys visible to query position i: i + 1 when causal, else T.
[[nodiscard]] inline std::int64_t visible_keys(const problem& p, std::int64_t i) {
  return p.causal ? i + 1 : static_cast<std::int64_t>(p.seq_len);
}

/// Group `rows` (global ids, any order, duplicates allowed) by (b, h) in ascending row order.
/// Throws std::invalid_argument for an id outside [0, B·H·T).
[[nodiscard]] std::vector<row_group> make_groups(const problem& p, std::span<const std::int64_t> rows);

/// Reusable per-thread buffers of the score kernel.
struct score_scratch {
  std::vector<double> q_scaled;  ///< [D][group_width], τ·q transposed so the lane loop vectorises
  std::vector<double> scores;    ///< [group_width][T]
};

/// scores[n·T + j] = Σ_d (τ·q_{i_n,d})·k_{j,d} in fp64, for j < visible_keys(i_n); other entries
/// are left unspecified. Lane n accumulates over d in ascending order, exactly as scaled_dot().
void group_scores(const problem& p, const float* q, const float* k, const row_group& g, score_scratch& s);

/// τ·q_i scaled into fp64 (D values), the operand scaled_dot() expects.
void scale_query(const problem& p, const float* q_row, double* out);

/// Σ_d q_scaled[d]·k_row[d] in fp64, in the same order as group_scores().
[[nodiscard]] inline double scaled_dot(const double* q_scaled, const float* k_row, int d) {
  double acc = 0;
  for (int x = 0; x < d; ++x) acc += q_scaled[x] * static_cast<double>(k_row[x]);
  return acc;
}

/// Threads to use: `requested` (0 = hardware concurrency), at most `tasks`, at least 1.
[[nodiscard]] int resolve_threads(int requested, std::size_t tasks);

/// Run body(task, thread) for task in [0, tasks) on `threads` threads (tasks handed out dynamically).
/// Results must go to per-task slots, so they do not depend on the thread count. The first
/// exception thrown by a body is rethrown after all threads have joined.
void parallel_for(std::size_t tasks, int threads, const std::function<void(std::size_t, int)>& body);

}  // namespace sb::metrics_detail
