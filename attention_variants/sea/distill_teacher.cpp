#include "attention_variants/sea/distill_teacher.hpp"

#include <algorithm>
#include <cmath>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/topk.hpp"
#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"

namespace sb::sea::distill {
namespace {
std::size_t sz(long long x) { return static_cast<std::size_t>(x); }
}  // namespace

teacher_window compute_teacher(const problem& p, const config& c, qkv_view in) {
  if (p.batch != 1) throw unsupported_case("sea distillation: the teacher takes one sample (batch = 1)");
  const int H = p.heads, T = p.seq_len, d = p.head_dim, K = c.K;
  teacher_window tw;
  tw.heads = H;
  tw.seq_len = T;
  tw.K = K;
  tw.mass.assign(sz(H) * T * K, 0.0f);
  tw.p_log_p.assign(sz(H) * T, 0.0);
  tw.p_squared.assign(sz(H) * T, 0.0);
  const int qb = std::min(oracle_query_block, T);
  std::vector<float> scores(sz(qb) * T);
  std::vector<int> bounds(sz(K) + 1);
  for (int h = 0; h < H; ++h) {
    const float* q = in.q + sz(h) * T * d;
    const float* k = in.k + sz(h) * T * d;
    for (int t0 = 0; t0 < T; t0 += qb) {
      const int n = std::min(qb, T - t0);
      const int key_end = p.causal ? t0 + n : T;
      // The oracle estimator's arithmetic (estimators.cpp oracle_rows), plus the two constants.
      blas::sgemm(false, true, n, key_end, d, static_cast<float>(p.scale()), q + sz(t0) * d, d, k, d, 0.0f,
                  scores.data(), key_end);
      for (int i = 0; i < n; ++i) {
        const int t = t0 + i;
        const int L = visible_keys(p.causal, T, t);
        float* s = scores.data() + sz(i) * key_end;
        const float mx = *std::max_element(s, s + L);
        double sum = 0;
        for (int j = 0; j < L; ++j) {
          s[j] = std::exp(s[j] - mx);
          sum += s[j];
        }
        row_bounds(c.upsample, L, K, bounds.data());
        const double inv = 1.0 / sum;
        const std::size_t row = sz(h) * T + t;
        double plogp = 0, p2 = 0;
        for (int b = 0; b < K; ++b) {
          double mass = 0;
          for (int j = bounds[sz(b)]; j < bounds[sz(b) + 1]; ++j) {
            mass += s[j];
            const double pj = s[j] * inv;
            if (pj > 0) plogp += pj * std::log(pj);
            p2 += pj * pj;
          }
          tw.mass[row * K + sz(b)] = static_cast<float>(mass * inv);
        }
        tw.p_log_p[row] = plogp;
        tw.p_squared[row] = p2;
      }
    }
  }
  return tw;
}

std::vector<int> row_bin_sizes(const problem& p, const config& c) {
  const int T = p.seq_len, K = c.K;
  std::vector<int> sizes(sz(T) * K), bounds(sz(K) + 1);
  for (int t = 0; t < T; ++t) {
    row_bounds(c.upsample, visible_keys(p.causal, T, t), K, bounds.data());
    for (int b = 0; b < K; ++b) sizes[sz(t) * K + sz(b)] = bounds[sz(b) + 1] - bounds[sz(b)];
  }
  return sizes;
}

window_loss attention_loss(const teacher_window& teacher, const std::vector<int>& bin_sizes, const float* scores,
                           const train::attention_loss_weights& w, float* dscores) {
  const int H = teacher.heads, T = teacher.seq_len, K = teacher.K;
  const double rows = static_cast<double>(H) * T;
  const double kl_scale = 1.0 / rows, sse_scale = 1.0 / (rows * T);
  double kl = 0, sse = 0;
  for (int h = 0; h < H; ++h)
    for (int t = 0; t < T; ++t) {
      const std::size_t r = sz(h) * T + t;
      const train::binned_teacher_row row{teacher.mass.data() + r * K, bin_sizes.data() + sz(t) * K,
                                          teacher.p_log_p[r], teacher.p_squared[r]};
      const auto l = train::binned_attention_loss(scores + r * K, K, row, kl_scale, sse_scale, w,
                                                  dscores ? dscores + r * K : nullptr);
      kl += l.kl;
      sse += l.sse;
    }
  window_loss out;
  out.kl = kl * kl_scale;
  out.mse = sse * sse_scale;
  out.loss = w.kl * out.kl + w.mse * out.mse;
  return out;
}

double mass_recall(const problem& p, const config& c, const teacher_window& teacher, const float* ahat) {
  if (p.batch != 1 || c.query_skip != 1)
    throw unsupported_case("sea distillation: mass recall takes one sample and query_skip = 1");
  const int T = p.seq_len, K = c.K;
  const selection sel = grouped_topk(p, c, ahat);
  double total = 0;
  for (int t = 0; t < T; ++t)
    for (std::int64_t i = sel.row_ptr[sz(t)]; i < sel.row_ptr[sz(t) + 1]; ++i) {
      const int cell = sel.cells[sz(i)];
      const int h = cell / K, b = cell % K;
      total += teacher.mass[(sz(h) * T + t) * K + sz(b)];
    }
  return total / (static_cast<double>(p.heads) * T);
}

}  // namespace sb::sea::distill
