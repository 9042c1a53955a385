// Accuracy metrics against the fp64 reference (see accuracy.hpp and docs/metrics.md).
#include "harness/metrics/accuracy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "harness/metrics/sample_stats.hpp"
#include "harness/metrics/score_kernel.hpp"

namespace sb {
namespace {

using namespace metrics_detail;

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

double mean_of(const std::vector<double>& x) {
  if (x.empty()) return nan_value;
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

void check_shapes(const problem& p, const reference_result& ref, const attention_support* support) {
  const std::size_t dim = static_cast<std::size_t>(p.head_dim);
  if (ref.out.size() != ref.rows.size() * dim || ref.lse.size() != ref.rows.size())
    throw std::invalid_argument("reference_result sizes do not match its rows: " + std::to_string(ref.rows.size()) +
                                " rows, " + std::to_string(ref.out.size()) + " outputs, " +
                                std::to_string(ref.lse.size()) + " lse values");
  if (support && support->rows() != p.rows())
    throw std::invalid_argument("attention_support has " + std::to_string(support->rows()) + " rows, expected B·H·T = " +
                                std::to_string(p.rows()));
}

/// Output-error metrics over the reference rows.
void output_errors(const problem& p, const float* out, const reference_result& ref, accuracy_report& rep) {
  const std::size_t dim = static_cast<std::size_t>(p.head_dim);
  const std::size_t total = p.qkv_elements();
  for (std::size_t e = 0; e < total; ++e)
    if (!std::isfinite(out[e])) ++rep.nonfinite_outputs;

  double diff2 = 0, ref2 = 0, max_abs = 0;
  std::vector<double> cosines;
  cosines.reserve(ref.rows.size());
  for (std::size_t n = 0; n < ref.rows.size(); ++n) {
    const float* o = out + static_cast<std::size_t>(ref.rows[n]) * dim;
    const double* r = ref.out.data() + n * dim;
    double dot = 0, oo = 0, rr = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      const double od = o[d];
      const double diff = od - r[d];
      diff2 += diff * diff;
      max_abs = std::max(max_abs, std::abs(diff));
      dot += od * r[d];
      oo += od * od;
      rr += r[d] * r[d];
    }
    ref2 += rr;
    if (oo == 0 || rr == 0) {
      ++rep.zero_norm_rows;
      continue;
    }
    cosines.push_back(dot / (std::sqrt(oo) * std::sqrt(rr)));
  }
  rep.ref_rows = static_cast<std::int64_t>(ref.rows.size());
  if (rep.nonfinite_outputs > 0 || ref.rows.empty()) {
    // Never let a broken output look accurate: NaN/Inf anywhere in O poisons the error columns.
    rep.rel_err = rep.max_abs_err = rep.cos_sim = rep.cos_sim_p10 = nan_value;
    return;
  }
  // A zero reference (all-zero V) leaves only exact agreement finite.
  rep.rel_err = ref2 > 0 ? std::sqrt(diff2) / std::sqrt(ref2)
                         : (diff2 == 0 ? 0.0 : std::numeric_limits<double>::infinity());
  rep.max_abs_err = max_abs;
  rep.cos_sim = mean_of(cosines);
  rep.cos_sim_p10 = percentile(cosines, 10.0);
}

/// Budget over every support row, and the causal future-key count; validates the columns.
void support_totals(const problem& p, const attention_support& s, accuracy_report& rep) {
  const std::int64_t t = p.seq_len;
  if (s.rows() == 0) {  // an empty problem: no rows to average over
    rep.keys_per_query = nan_value;
    rep.keys_per_query_max = 0.0;
    return;
  }
  if (s.row_ptr.front() != 0 || static_cast<std::size_t>(s.row_ptr.back()) != s.cols.size())
    throw std::invalid_argument("attention_support row_ptr must start at 0 and end at cols.size()");
  std::int64_t longest = 0;
  for (std::size_t r = 0; r < s.rows(); ++r) {
    const std::int64_t b = s.row_ptr[r], e = s.row_ptr[r + 1];
    if (e < b) throw std::invalid_argument("attention_support row_ptr decreases at row " + std::to_string(r));
    longest = std::max(longest, e - b);
    const std::int64_t i = static_cast<std::int64_t>(r) % t;
    for (std::int64_t x = b; x < e; ++x) {
      const std::int32_t j = s.cols[static_cast<std::size_t>(x)];
      if (j < 0 || j >= t)
        throw std::invalid_argument("attention_support row " + std::to_string(r) + " has key " + std::to_string(j) +
                                    " outside [0, " + std::to_string(t) + ")");
      if (p.causal && j > i) ++rep.future_keys;
    }
  }
  rep.keys_per_query = static_cast<double>(s.cols.size()) / static_cast<double>(s.rows());
  rep.keys_per_query_max = static_cast<double>(longest);
}

/// Per-thread buffers of the support metrics.
struct support_scratch {
  score_scratch scores;
  std::vector<double> q_scaled;
  std::vector<std::int32_t> keys;     ///< the row's distinct visible keys
  std::vector<std::int32_t> ranking;  ///< candidate order for the exact top-k
  std::vector<char> in_top;           ///< T flags, all 0 between rows
};

}  // namespace

accuracy_report compute_accuracy(const problem& p, const float* q, const float* k, const float* /*v*/,
                                 const float* out, const reference_result& ref, const attention_support* support,
                                 int threads) {
  check_shapes(p, ref, support);
  const auto groups = make_groups(p, ref.rows);  // validates the row ids
  accuracy_report rep;
  output_errors(p, out, ref, rep);
  if (!support) return rep;

  support_totals(p, *support, rep);
  if (p.k && *p.k <= 0) throw std::invalid_argument("problem.k must be positive for topk_recall, got " + std::to_string(*p.k));
  const bool want_topk = p.k.has_value();
  const std::size_t t = static_cast<std::size_t>(p.seq_len);
  const std::size_t dim = static_cast<std::size_t>(p.head_dim);

  std::vector<double> mass(ref.rows.size(), 0.0), topk(ref.rows.size(), 0.0);
  const int n_threads = resolve_threads(threads, groups.size());
  std::vector<support_scratch> scratch(static_cast<std::size_t>(n_threads));

  parallel_for(groups.size(), n_threads, [&](std::size_t gi, int th) {
    const row_group& g = groups[gi];
    support_scratch& s = scratch[static_cast<std::size_t>(th)];
    if (want_topk) {
      group_scores(p, q, k, g, s.scores);  // every visible score is needed for the ranking
      s.in_top.resize(t, 0);
    }
    s.q_scaled.resize(dim);
    for (int n = 0; n < g.size; ++n) {
      const std::int64_t i = g.pos[n];
      const std::size_t row = static_cast<std::size_t>(g.bh) * t + static_cast<std::size_t>(i);
      const std::size_t slot = g.index[static_cast<std::size_t>(n)];
      const std::int64_t visible = visible_keys(p, i);
      const double* scores = s.scores.scores.data() + static_cast<std::size_t>(n) * t;

      // Distinct keys the query may see; future keys (causal) carry no mass.
      s.keys.assign(support->cols.begin() + support->row_ptr[row], support->cols.begin() + support->row_ptr[row + 1]);
      std::sort(s.keys.begin(), s.keys.end());
      s.keys.erase(std::unique(s.keys.begin(), s.keys.end()), s.keys.end());
      s.keys.erase(std::lower_bound(s.keys.begin(), s.keys.end(), static_cast<std::int32_t>(std::min<std::int64_t>(visible, t))),
                   s.keys.end());

      if (!want_topk) scale_query(p, q + row * dim, s.q_scaled.data());
      const float* k_head = k + static_cast<std::size_t>(g.bh) * t * dim;
      double m = 0;
      for (std::int32_t j : s.keys) {
        const double score = want_topk ? scores[j]
                                       : scaled_dot(s.q_scaled.data(), k_head + static_cast<std::size_t>(j) * dim, p.head_dim);
        m += std::exp(score - ref.lse[slot]);
      }
      mass[slot] = m;

      if (want_topk) {
        const std::int64_t kk = std::min<std::int64_t>(*p.k, visible);
        s.ranking.resize(static_cast<std::size_t>(visible));
        std::iota(s.ranking.begin(), s.ranking.end(), 0);
        // Higher score first; equal scores: lower key index first.
        const auto before = [scores](std::int32_t a, std::int32_t b) {
          return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
        };
        std::nth_element(s.ranking.begin(), s.ranking.begin() + (kk - 1), s.ranking.end(), before);
        for (std::int64_t x = 0; x < kk; ++x) s.in_top[static_cast<std::size_t>(s.ranking[static_cast<std::size_t>(x)])] = 1;
        std::int64_t hits = 0;
        for (std::int32_t j : s.keys) hits += s.in_top[static_cast<std::size_t>(j)];
        for (std::int64_t x = 0; x < kk; ++x) s.in_top[static_cast<std::size_t>(s.ranking[static_cast<std::size_t>(x)])] = 0;
        topk[slot] = static_cast<double>(hits) / static_cast<double>(kk);
      }
    }
  });

  rep.mass_recall = mean_of(mass);
  rep.mass_recall_p10 = percentile(mass, 10.0);
  if (want_topk) rep.topk_recall = mean_of(topk);
  return rep;
}

}  // namespace sb
