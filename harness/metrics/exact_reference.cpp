// fp64 exact attention for selected rows (see exact_reference.hpp). Rows of one (b, h) are
// processed in groups of metrics_detail::group_width so each K and V row is read once per group.
#include "harness/metrics/exact_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "harness/metrics/score_kernel.hpp"

namespace sb {

reference_result exact_reference(const problem& p, const float* q, const float* k, const float* v,
                                 std::vector<std::int64_t> rows, int threads) {
  using namespace metrics_detail;
  reference_result res;
  const auto groups = make_groups(p, rows);
  res.rows = std::move(rows);
  const std::size_t dim = static_cast<std::size_t>(p.head_dim);
  const std::size_t t = static_cast<std::size_t>(p.seq_len);
  res.out.assign(res.rows.size() * dim, 0.0);
  res.lse.assign(res.rows.size(), 0.0);
  if (groups.empty()) return res;

  const int n_threads = resolve_threads(threads, groups.size());
  std::vector<score_scratch> scratch(static_cast<std::size_t>(n_threads));
  std::vector<std::vector<double>> acc(static_cast<std::size_t>(n_threads));

  parallel_for(groups.size(), n_threads, [&](std::size_t gi, int th) {
    const row_group& g = groups[gi];
    score_scratch& s = scratch[static_cast<std::size_t>(th)];
    group_scores(p, q, k, g, s);

    // Softmax in place: scores become exp(s − max); remember each row's max and sum.
    std::array<double, group_width> row_max{}, row_sum{};
    std::array<std::int64_t, group_width> visible{};
    std::int64_t max_visible = 0;
    for (int n = 0; n < g.size; ++n) {
      visible[n] = visible_keys(p, g.pos[n]);
      max_visible = std::max(max_visible, visible[n]);
      double* sn = s.scores.data() + static_cast<std::size_t>(n) * t;
      double m = -std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < visible[n]; ++j) m = std::max(m, sn[j]);
      double sum = 0;
      for (std::int64_t j = 0; j < visible[n]; ++j) {
        sn[j] = std::exp(sn[j] - m);
        sum += sn[j];
      }
      row_max[n] = m;
      row_sum[n] = sum;
    }

    // Σ_j w_nj·v_j, reading each value row once for the whole group.
    std::vector<double>& o = acc[static_cast<std::size_t>(th)];
    o.assign(static_cast<std::size_t>(g.size) * dim, 0.0);
    const float* v_head = v + static_cast<std::size_t>(g.bh) * t * dim;
    for (std::int64_t j = 0; j < max_visible; ++j) {
      const float* vj = v_head + static_cast<std::size_t>(j) * dim;
      for (int n = 0; n < g.size; ++n) {
        if (j >= visible[n]) continue;
        const double w = s.scores[static_cast<std::size_t>(n) * t + static_cast<std::size_t>(j)];
        double* on = o.data() + static_cast<std::size_t>(n) * dim;
        for (std::size_t d = 0; d < dim; ++d) on[d] += w * static_cast<double>(vj[d]);
      }
    }

    for (int n = 0; n < g.size; ++n) {
      const std::size_t slot = g.index[static_cast<std::size_t>(n)];
      for (std::size_t d = 0; d < dim; ++d) res.out[slot * dim + d] = o[static_cast<std::size_t>(n) * dim + d] / row_sum[n];
      res.lse[slot] = row_max[n] + std::log(row_sum[n]);
    }
  });
  return res;
}

}  // namespace sb
