// The metrics' fp64 score kernel, row grouping and thread pool (see score_kernel.hpp).
#include "harness/metrics/score_kernel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>

namespace sb::metrics_detail {

std::vector<row_group> make_groups(const problem& p, std::span<const std::int64_t> rows) {
  const std::int64_t t = p.seq_len;
  const auto total = static_cast<std::int64_t>(p.rows());
  for (std::int64_t r : rows)
    if (r < 0 || r >= total)
      throw std::invalid_argument("reference row " + std::to_string(r) + " is outside [0, " + std::to_string(total) +
                                  ")");
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rows[a] < rows[b]; });

  std::vector<row_group> groups;
  for (std::size_t idx : order) {
    const std::int64_t r = rows[idx];
    const std::int64_t bh = r / t;
    if (groups.empty() || groups.back().bh != bh || groups.back().size == group_width) {
      groups.emplace_back();
      groups.back().bh = bh;
    }
    row_group& g = groups.back();
    g.pos[static_cast<std::size_t>(g.size)] = r % t;
    g.index[static_cast<std::size_t>(g.size)] = idx;
    ++g.size;
  }
  return groups;
}

void scale_query(const problem& p, const float* q_row, double* out) {
  const double tau = p.scale();
  for (int d = 0; d < p.head_dim; ++d) out[d] = tau * static_cast<double>(q_row[d]);
}

void group_scores(const problem& p, const float* q, const float* k, const row_group& g, score_scratch& s) {
  constexpr std::size_t w = group_width;
  const std::size_t dim = static_cast<std::size_t>(p.head_dim);
  const std::size_t t = static_cast<std::size_t>(p.seq_len);
  s.q_scaled.assign(dim * w, 0.0);  // unused lanes stay 0
  s.scores.resize(w * t);
  std::array<double, group_width> lane{};
  std::vector<double> one(dim);
  std::int64_t max_visible = 0;
  for (int n = 0; n < g.size; ++n) {
    const std::size_t row = static_cast<std::size_t>(g.bh) * t + static_cast<std::size_t>(g.pos[n]);
    scale_query(p, q + row * dim, one.data());
    for (std::size_t d = 0; d < dim; ++d) s.q_scaled[d * w + static_cast<std::size_t>(n)] = one[d];
    max_visible = std::max(max_visible, visible_keys(p, g.pos[n]));
  }
  const float* k_head = k + static_cast<std::size_t>(g.bh) * t * dim;
  for (std::int64_t j = 0; j < max_visible; ++j) {
    const float* kj = k_head + static_cast<std::size_t>(j) * dim;
    lane.fill(0.0);
    for (std::size_t d = 0; d < dim; ++d) {
      const double kd = kj[d];
      const double* qd = s.q_scaled.data() + d * w;
      for (std::size_t n = 0; n < w; ++n) lane[n] += qd[n] * kd;
    }
    for (int n = 0; n < g.size; ++n) s.scores[static_cast<std::size_t>(n) * t + static_cast<std::size_t>(j)] = lane[n];
  }
}

int resolve_threads(int requested, std::size_t tasks) {
  std::size_t n = requested > 0 ? static_cast<std::size_t>(requested) : std::thread::hardware_concurrency();
  n = std::min(n, tasks);
  return static_cast<int>(std::max<std::size_t>(n, 1));
}

void parallel_for(std::size_t tasks, int threads, const std::function<void(std::size_t, int)>& body) {
  if (threads <= 1 || tasks <= 1) {
    for (std::size_t i = 0; i < tasks; ++i) body(i, 0);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto worker = [&](int thread) {
    for (std::size_t i = next++; i < tasks && !failed.load(); i = next++) {
      try {
        body(i, thread);
      } catch (...) {
        const std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  for (int th = 1; th < threads; ++th) pool.emplace_back(worker, th);
  worker(0);
  for (auto& th : pool) th.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace sb::metrics_detail
