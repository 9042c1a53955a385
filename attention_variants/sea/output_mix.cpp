#include "attention_variants/sea/output_mix.hpp"

#include <algorithm>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/sparse_attention.hpp"
#include "harness/core/memory_tracker.hpp"

namespace sb::sea {
namespace {
std::size_t sz(long long x) { return static_cast<std::size_t>(x); }
}  // namespace

void query_mean(const problem& p, const config& c, const float* ahat, float* w) {
  const int te = c.estimator_rows(p.seq_len), K = c.K;
  for (std::size_t bh = 0; bh < sz(p.batch) * p.heads; ++bh) {
    for (int b = 0; b < K; ++b) {
      double sum = 0;
      for (int e = 0; e < te; ++e) sum += ahat[(bh * te + e) * K + b];
      w[bh * K + b] = static_cast<float>(sum / te);
    }
  }
}

void output_mix(const problem& p, const config& c, qkv_view in, const float* gates, const float* mean_ahat,
                float* out) {
  const int T = p.seq_len, d = p.head_dim, K = c.K, s = c.query_skip;
  const int te = c.estimator_rows(T);
  tracked_buffer<double> acc(sz(d));
  tracked_buffer<int> bounds(sz(K) + 1);
  if (!p.causal) row_bounds(c.upsample, T, K, bounds.data());
  for (std::size_t bh = 0; bh < sz(p.batch) * p.heads; ++bh) {
    const float* v = in.v + bh * T * d;
    std::fill_n(acc.data(), d, 0.0);
    if (!p.causal) {
      // Σ_j w_j v_j with w_j = mean Â of j's bin, divided by Σ_j w_j.
      double norm = 0;
      for (int b = 0; b < K; ++b) {
        const double wb = mean_ahat[bh * K + b];
        for (int j = bounds[b]; j < bounds[b + 1]; ++j) {
          for (int x = 0; x < d; ++x) acc[sz(x)] += wb * v[sz(j) * d + x];
          norm += wb;
        }
      }
      if (norm > 0)
        for (int x = 0; x < d; ++x) acc[sz(x)] /= norm;
    }
    for (int t = 0; t < T; ++t) {
      float* o = out + (bh * T + t) * d;
      const float g = sigmoid(gates[(bh * te + t / s) * 2 + 1]);
      if (p.causal) {
        for (int x = 0; x < d; ++x) acc[sz(x)] += v[sz(t) * d + x];
        const double inv = 1.0 / (t + 1);
        for (int x = 0; x < d; ++x) o[x] = g * o[x] + (1.0f - g) * static_cast<float>(acc[sz(x)] * inv);
      } else {
        for (int x = 0; x < d; ++x) o[x] = g * o[x] + (1.0f - g) * static_cast<float>(acc[sz(x)]);
      }
    }
  }
}

std::size_t output_mix_bytes(const problem& p, const config& c) {
  return sz(p.head_dim) * sizeof(double) + (sz(c.K) + 1) * sizeof(int);
}

}  // namespace sb::sea
