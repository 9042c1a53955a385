#include "attention_variants/sea/inspect.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/pipeline.hpp"
#include "attention_variants/sea/sparse_attention.hpp"
#include "attention_variants/sea/topk.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"

namespace sb::sea {

head_matrices inspect_head(const problem& p, const param_set& params, qkv_view in, int batch, int head) {
  if (batch < 0 || batch >= p.batch || head < 0 || head >= p.heads)
    throw std::out_of_range("sea inspect: batch or head index out of range");
  const config c = make_config(p, params);
  if (auto why = unsupported_reason(p, c)) throw unsupported_case(*why);
  const int T = p.seq_len, H = p.heads, d = p.head_dim, K = c.K, te = c.estimator_rows(T);
  const bool gated = c.output == output_mode::mix;
  auto est = make_estimator(p, c);
  tracked_buffer<float> ahat(static_cast<std::size_t>(p.batch) * H * te * K);
  tracked_buffer<float> gates(gated ? static_cast<std::size_t>(p.batch) * H * te * 2 : 0);
  est->estimate(in, ahat.data(), gated ? gates.data() : nullptr);
  const selection sel = grouped_topk(p, c, ahat.data());
  const flat_csr csr = upsample(p, c, sel);

  head_matrices m;
  m.seq_len = T;
  m.K = K;
  const std::size_t tt = static_cast<std::size_t>(T) * T;
  m.exact.assign(tt, 0.0f);
  m.compressed.assign(static_cast<std::size_t>(T) * K, 0.0f);
  m.mask.assign(tt, 0.0f);
  m.sparse.assign(tt, 0.0f);
  const std::size_t bh = static_cast<std::size_t>(batch) * H + head;
  const float* q = in.q + bh * T * d;
  const float* k = in.k + bh * T * d;
  const double tau = p.scale();
  std::vector<double> s(static_cast<std::size_t>(T));
  for (int t = 0; t < T; ++t) {
    const int L = p.causal ? t + 1 : T;
    double mx = -INFINITY, sum = 0;
    for (int j = 0; j < L; ++j) {
      double dot = 0;
      for (int x = 0; x < d; ++x) dot += static_cast<double>(q[t * d + x]) * k[j * d + x];
      s[j] = tau * dot;
      mx = std::max(mx, s[j]);
    }
    for (int j = 0; j < L; ++j) sum += std::exp(s[j] - mx);
    for (int j = 0; j < L; ++j) m.exact[static_cast<std::size_t>(t) * T + j] = static_cast<float>(std::exp(s[j] - mx) / sum);
    std::copy_n(ahat.data() + (bh * te + t / c.query_skip) * K, K, m.compressed.data() + static_cast<std::size_t>(t) * K);
    const auto keys = csr.segment(static_cast<std::size_t>(batch) * T + t, head);
    if (keys.empty()) continue;
    const float gate = gated ? sigmoid(gates[(bh * te + t / c.query_skip) * 2]) : 1.0f;
    std::vector<float> sc(keys.size());
    float smax = -INFINITY;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      sc[i] = static_cast<float>(tau) * sparse::dot(q + static_cast<std::size_t>(t) * d, k + static_cast<std::size_t>(keys[i]) * d, d);
      smax = std::max(smax, sc[i]);
    }
    double ssum = 0;
    for (float& x : sc) {
      x = std::exp(x - smax);
      ssum += x;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::size_t at = static_cast<std::size_t>(t) * T + keys[i];
      m.mask[at] = 1.0f;
      m.sparse[at] = static_cast<float>(sc[i] / ssum) * gate;
    }
  }
  return m;
}

}  // namespace sb::sea
