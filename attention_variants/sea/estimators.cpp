#include "attention_variants/sea/estimators.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/learned_estimator.hpp"
#include "harness/core/blas.hpp"
#include "harness/core/memory_tracker.hpp"

namespace sb::sea {
namespace {

constexpr float neg_inf = -std::numeric_limits<float>::infinity();
std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

std::size_t head_elems(const problem& p) { return sz(p.seq_len) * p.head_dim; }
std::size_t ahat_head_elems(const problem& p, const config& c) { return sz(c.estimator_rows(p.seq_len)) * c.K; }

// ---------------------------------------------------------------------------------------------------
// oracle
// ---------------------------------------------------------------------------------------------------

class oracle_estimator final : public estimator {
 public:
  oracle_estimator(const problem& p, const config& c) : m_p(p), m_c(c) {}

  void estimate(qkv_view in, float* ahat, float*) override {
    const int te = m_c.estimator_rows(m_p.seq_len), s = m_c.query_skip;
    const int qb = std::min(oracle_query_block, te);
    tracked_buffer<float> scores(sz(qb) * m_p.seq_len);
    tracked_buffer<int> bounds(sz(m_c.K) + 1);
    const std::size_t heads = sz(m_p.batch) * m_p.heads;
    for (std::size_t bh = 0; bh < heads; ++bh) {
      const float* q = in.q + bh * head_elems(m_p);
      const float* k = in.k + bh * head_elems(m_p);
      float* out = ahat + bh * ahat_head_elems(m_p, m_c);
      for (int e0 = 0; e0 < te; e0 += qb) {
        const int n = std::min(qb, te - e0);
        oracle_rows(m_p, m_c.upsample, m_c.K, q, k, e0 * s, s, n, scores.data(), bounds.data(),
                    out + sz(e0) * m_c.K);
      }
    }
  }

 private:
  problem m_p;
  config m_c;
};

// ---------------------------------------------------------------------------------------------------
// pooled
// ---------------------------------------------------------------------------------------------------

class pooled_estimator final : public estimator {
 public:
  pooled_estimator(const problem& p, const config& c) : m_p(p), m_c(c) {}

  void estimate(qkv_view in, float* ahat, float*) override {
    if (m_p.causal) estimate_causal(in, ahat);
    else estimate_full(in, ahat);
  }

 private:
  // Non-causal: every row shares the bins of L = T, so pool once per head ([K, d]) and score with a GEMM.
  void estimate_full(qkv_view in, float* ahat) {
    const int t = m_p.seq_len, d = m_p.head_dim, K = m_c.K, s = m_c.query_skip;
    const int te = m_c.estimator_rows(t);
    tracked_buffer<float> pooled(sz(K) * d);
    tracked_buffer<double> acc(sz(d));
    tracked_buffer<int> bounds(sz(K) + 1);
    row_bounds(m_c.upsample, t, K, bounds.data());
    const float tau = static_cast<float>(m_p.scale());
    for (std::size_t bh = 0; bh < sz(m_p.batch) * m_p.heads; ++bh) {
      const float* k = in.k + bh * head_elems(m_p);
      for (int b = 0; b < K; ++b) {
        const int lo = bounds[b], hi = bounds[b + 1];
        std::fill_n(acc.data(), d, 0.0);
        for (int j = lo; j < hi; ++j)
          for (int c = 0; c < d; ++c) acc[c] += k[sz(j) * d + c];
        const double inv = hi > lo ? 1.0 / (hi - lo) : 0.0;
        for (int c = 0; c < d; ++c) pooled[sz(b) * d + c] = static_cast<float>(acc[c] * inv);
      }
      float* out = ahat + bh * ahat_head_elems(m_p, m_c);
      blas::sgemm(false, true, te, K, d, tau, in.q + bh * head_elems(m_p), s * d, pooled.data(), d, 0.0f, out, K);
      for (int e = 0; e < te; ++e) {
        float* row = out + sz(e) * K;
        for (int b = 0; b < K; ++b) {
          const int n = bounds[b + 1] - bounds[b];
          if (n == 0) row[b] = neg_inf;
          else if (m_c.pooled_mass_term) row[b] += static_cast<float>(std::log(static_cast<double>(n)));
        }
        softmax_row(row, K);
      }
    }
  }

  // Causal: row-relative bins from an fp64 prefix sum S of the keys. A cell's pooled score is
  // q·(S[hi] − S[lo]) / n = (q·S[hi] − q·S[lo]) / n, so a row needs the K+1 products q·S[bound]: O(K·d).
  void estimate_causal(qkv_view in, float* ahat) {
    const int t = m_p.seq_len, d = m_p.head_dim, K = m_c.K, s = m_c.query_skip;
    const int te = m_c.estimator_rows(t);
    tracked_buffer<double> prefix((sz(t) + 1) * d);
    tracked_buffer<double> qs(sz(K) + 1);
    tracked_buffer<int> bounds(sz(K) + 1);
    const double tau = m_p.scale();
    for (std::size_t bh = 0; bh < sz(m_p.batch) * m_p.heads; ++bh) {
      const float* q = in.q + bh * head_elems(m_p);
      const float* k = in.k + bh * head_elems(m_p);
      std::fill_n(prefix.data(), d, 0.0);
      for (int j = 0; j < t; ++j)
        for (int c = 0; c < d; ++c) prefix[(sz(j) + 1) * d + c] = prefix[sz(j) * d + c] + k[sz(j) * d + c];
      float* out = ahat + bh * ahat_head_elems(m_p, m_c);
      for (int e = 0; e < te; ++e) {
        const int row_t = e * s;
        row_bounds(m_c.upsample, row_t + 1, K, bounds.data());
        const float* qt = q + sz(row_t) * d;
        for (int b = 0; b <= K; ++b)
          qs[sz(b)] = (b > 0 && bounds[b] == bounds[b - 1]) ? qs[sz(b) - 1]
                                                           : dot_prefix(qt, prefix.data() + sz(bounds[b]) * d, d);
        float* row = out + sz(e) * K;
        for (int b = 0; b < K; ++b) {
          const int n = bounds[b + 1] - bounds[b];
          if (n == 0) {
            row[b] = neg_inf;
            continue;
          }
          double score = tau * (qs[sz(b) + 1] - qs[sz(b)]) / n;
          if (m_c.pooled_mass_term) score += std::log(static_cast<double>(n));
          row[b] = static_cast<float>(score);
        }
        softmax_row(row, K);
      }
    }
  }

  /// q·S in fp64 with four independent partial sums (vectorisable without -ffast-math).
  static double dot_prefix(const float* q, const double* prefix_row, int d) {
    double acc[4] = {0, 0, 0, 0};
    int c = 0;
    for (; c + 4 <= d; c += 4)
      for (int l = 0; l < 4; ++l) acc[l] += static_cast<double>(q[c + l]) * prefix_row[c + l];
    double r = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (; c < d; ++c) r += static_cast<double>(q[c]) * prefix_row[c];
    return r;
  }

  problem m_p;
  config m_c;
};

// ---------------------------------------------------------------------------------------------------
// performer_hist
// ---------------------------------------------------------------------------------------------------

favor::settings hist_settings(bool causal) {
  favor::settings s;
  s.kernel = favor::kernel_kind::softmax;
  s.causal = causal;
  return s;
}

/// Value columns of the Performer histogram: the K row bins (non-causal) or F fine bins (causal).
int hist_columns(const problem& p, const config& c) {
  return p.causal ? hist_fine_bins(p.seq_len, c.K) : c.K;
}

class hist_estimator final : public estimator {
 public:
  hist_estimator(const problem& p, const config& c)
      : m_p(p), m_c(c), m_w(favor::draw_projection(p.seed, performer_features(p.head_dim, c.nbf), p.head_dim)) {}

  void estimate(qkv_view in, float* ahat, float*) override {
    const int t = m_p.seq_len, d = m_p.head_dim, K = m_c.K, s = m_c.query_skip;
    const int te = m_c.estimator_rows(t), cols = hist_columns(m_p, m_c);
    const favor::settings fs = hist_settings(m_p.causal);
    tracked_buffer<float> basis(sz(t) * cols);
    tracked_buffer<float> hist(sz(t) * cols);
    tracked_buffer<int> bounds(sz(K) + 1);
    favor::workspace ws(m_w.m, fs, t, cols);
    // One-hot box basis: key j → its row bin (non-causal, L = T) or its fine bin floor(j·F/T) (causal).
    basis.fill(0.0f);
    if (m_p.causal) {
      for (int j = 0; j < t; ++j) basis[sz(j) * cols + sz(static_cast<long long>(j) * cols / t)] = 1.0f;
    } else {
      row_bounds(m_c.upsample, t, K, bounds.data());
      for (int b = 0; b < K; ++b)
        for (int j = bounds[b]; j < bounds[b + 1]; ++j) basis[sz(j) * cols + b] = 1.0f;
    }
    for (std::size_t bh = 0; bh < sz(m_p.batch) * m_p.heads; ++bh) {
      favor::head_io io;
      io.q = in.q + bh * head_elems(m_p);
      io.k = in.k + bh * head_elems(m_p);
      io.ldq = io.ldk = d;
      io.v = basis.data();
      io.ldv = cols;
      io.out = hist.data();
      io.ldo = cols;
      io.t = t;
      io.dv = cols;
      favor::attend(m_w, fs, io, ws);
      float* out = ahat + bh * ahat_head_elems(m_p, m_c);
      for (int e = 0; e < te; ++e) {
        const int row_t = e * s;
        const float* h = hist.data() + sz(row_t) * cols;
        float* row = out + sz(e) * K;
        if (m_p.causal) resample(h, cols, row_t + 1, bounds.data(), row);
        else std::copy_n(h, K, row);
        normalise(row);
      }
    }
  }

 private:
  // Area resampling of the fine-bin histogram onto the row's K bins: each fine bin's mass is spread
  // uniformly over its visible keys [start, min(end, L)), then summed per row bin.
  void resample(const float* fine, int f_bins, int L, int* bounds, float* row) const {
    const int t = m_p.seq_len, K = m_c.K;
    row_bounds(m_c.upsample, L, K, bounds);
    std::fill_n(row, K, 0.0f);
    auto fine_start = [&](int f) { return static_cast<int>((static_cast<long long>(f) * t + f_bins - 1) / f_bins); };
    int f = 0, b = 0, pos = 0;
    while (pos < L) {
      while (fine_start(f + 1) <= pos) ++f;
      while (bounds[b + 1] <= pos) ++b;
      const int f_end = std::min(fine_start(f + 1), L);
      const int next = std::min(f_end, bounds[b + 1]);
      const double density = static_cast<double>(fine[f]) / (f_end - fine_start(f));
      row[b] += static_cast<float>(density * (next - pos));
      pos = next;
    }
  }

  void normalise(float* row) const {
    double sum = 0;
    for (int b = 0; b < m_c.K; ++b) sum += row[b];
    if (sum > 0) {
      const float inv = static_cast<float>(1.0 / sum);
      for (int b = 0; b < m_c.K; ++b) row[b] *= inv;
    }
  }

  problem m_p;
  config m_c;
  favor::projection m_w;
};

}  // namespace

int hist_fine_bins(int seq_len, int K) { return std::min(seq_len, 4 * K); }

void softmax_row(float* row, int K) {
  const float mx = *std::max_element(row, row + K);
  double sum = 0;
  for (int b = 0; b < K; ++b) {
    row[b] = row[b] == neg_inf ? 0.0f : std::exp(row[b] - mx);
    sum += row[b];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int b = 0; b < K; ++b) row[b] *= inv;
}

void oracle_rows(const problem& p, upsample_mode up, int K, const float* q_head, const float* k_head, int t0,
                 int stride, int n, float* scores, int* bounds, float* out) {
  const int t = p.seq_len, d = p.head_dim;
  const int t_last = t0 + (n - 1) * stride;
  const int key_end = p.causal ? t_last + 1 : t;
  blas::sgemm(false, true, n, key_end, d, static_cast<float>(p.scale()), q_head + sz(t0) * d, stride * d, k_head,
              d, 0.0f, scores, key_end);
  for (int i = 0; i < n; ++i) {
    const int L = visible_keys(p.causal, t, t0 + i * stride);
    float* s = scores + sz(i) * key_end;
    const float mx = *std::max_element(s, s + L);
    double sum = 0;
    for (int j = 0; j < L; ++j) {
      s[j] = std::exp(s[j] - mx);
      sum += s[j];
    }
    row_bounds(up, L, K, bounds);
    const double inv = 1.0 / sum;
    for (int b = 0; b < K; ++b) {
      double mass = 0;
      for (int j = bounds[b]; j < bounds[b + 1]; ++j) mass += s[j];
      out[sz(i) * K + b] = static_cast<float>(mass * inv);
    }
  }
}

std::unique_ptr<estimator> make_estimator(const problem& p, const config& c) {
  switch (c.estimator) {
    case estimator_kind::oracle: return std::make_unique<oracle_estimator>(p, c);
    case estimator_kind::pooled: return std::make_unique<pooled_estimator>(p, c);
    case estimator_kind::performer_hist: return std::make_unique<hist_estimator>(p, c);
    case estimator_kind::performer: return make_performer_estimator(p, c);
  }
  return nullptr;
}

std::size_t estimator_scratch_bytes(const problem& p, const config& c) {
  const std::size_t t = p.seq_len, d = p.head_dim, K = c.K;
  const std::size_t bounds = (K + 1) * sizeof(int);
  switch (c.estimator) {
    case estimator_kind::oracle: {
      const std::size_t qb = std::min(oracle_query_block, c.estimator_rows(p.seq_len));
      return qb * t * sizeof(float) + bounds;
    }
    case estimator_kind::pooled:
      if (p.causal) return (t + 1) * d * sizeof(double) + (K + 1) * sizeof(double) + bounds;
      return K * d * sizeof(float) + d * sizeof(double) + bounds;
    case estimator_kind::performer_hist: {
      const int cols = hist_columns(p, c);
      return 2 * t * cols * sizeof(float) + bounds +
             favor::workspace::bytes(performer_features(p.head_dim, c.nbf), hist_settings(p.causal), p.seq_len,
                                     cols);
    }
    case estimator_kind::performer: return performer_estimator_scratch_bytes(p, c);
  }
  return 0;
}

double estimator_flops(const problem& p, const config& c) {
  const double heads = static_cast<double>(p.batch) * p.heads;
  const double t = p.seq_len, d = p.head_dim, K = c.K, te = c.estimator_rows(p.seq_len);
  switch (c.estimator) {
    case estimator_kind::oracle: {
      // Blockwise GEMM over keys [0, key_end) plus exp/sum/bin passes (~3 per scored key).
      double pairs = 0;
      for (double e0 = 0; e0 < te; e0 += oracle_query_block) {
        const double n = std::min<double>(oracle_query_block, te - e0);
        const double key_end = p.causal ? (e0 + n - 1) * c.query_skip + 1 : t;
        pairs += n * key_end;
      }
      return heads * pairs * (2 * d + 3);
    }
    case estimator_kind::pooled: return heads * (te * (K + 1) * (2 * d + 5) + t * d);  // scores + pooling or prefix sums
    case estimator_kind::performer_hist: {
      const int cols = hist_columns(p, c);
      return heads * favor::attend_flops(performer_features(p.head_dim, c.nbf), p.head_dim,
                                         hist_settings(p.causal), p.seq_len, cols);
    }
    case estimator_kind::performer: return performer_estimator_flops(p, c);
  }
  return 0;
}

}  // namespace sb::sea
