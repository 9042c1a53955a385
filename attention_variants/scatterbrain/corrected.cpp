#include "attention_variants/scatterbrain/corrected.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace sb::scatterbrain {
namespace {
std::size_t sz(int a) { return static_cast<std::size_t>(a); }
int chunk_rows(int chunk, int max_t) { return std::max(1, std::min(chunk, max_t)); }
}  // namespace

corrected_workspace::corrected_workspace(int m, int max_t, int dv, int chunk, bool causal)
    : m_m(m),
      m_max_t(max_t),
      m_dv(dv),
      m_chunk(chunk_rows(chunk, max_t)),
      m_causal(causal),
      m_kphi(sz(max_t) * m),
      m_kscale(causal ? sz(max_t) : 0),
      m_kchunk(causal ? sz(m_chunk) * m : 0),
      m_qphi(sz(m_chunk) * m),
      m_qstab(sz(m_chunk)),
      m_num(sz(m_chunk) * dv),
      m_den(sz(m_chunk)),
      m_scores(sz(max_t)),
      m_scan(m, dv, m_chunk, causal) {}

std::size_t corrected_workspace::bytes(int m, int max_t, int dv, int chunk, bool causal) {
  const int c = chunk_rows(chunk, max_t);
  std::size_t floats = sz(max_t) * m + sz(c) * m + sz(c) + sz(c) * dv + sz(c) + sz(max_t);
  if (causal) floats += sz(max_t) + sz(c) * m;
  floats += favor::linear_scan::floats(m, dv, c, causal);
  return floats * sizeof(float);
}

std::int64_t corrected_head(const favor::projection& w, float eps, bool causal, const favor::head_io& io,
                            const support_fn& support, corrected_workspace& ws) {
  if (io.t > ws.m_max_t || io.dv != ws.m_dv || w.m != ws.m_m || causal != ws.m_causal)
    throw std::invalid_argument("scatterbrain::corrected_head: the head does not match the workspace");
  const int t = io.t, m = w.m, d = w.d, dv = io.dv, c = ws.m_chunk;
  if (t <= 0) return 0;
  const float tau = 1.0f / std::sqrt(static_cast<float>(d));
  favor::linear_scan& scan = ws.m_scan;
  scan.reset();
  float* kphi = ws.m_kphi.data();
  float c_k = 0.0f;
  if (causal) {
    favor::softmax_causal_key_features(w, io.k, t, io.ldk, eps, 0.0f, -std::numeric_limits<float>::infinity(), kphi,
                                       ws.m_kscale.data());
  } else {
    c_k = favor::softmax_global_key_features(w, io.k, t, io.ldk, eps, 0.0f, kphi);
    scan.add_keys(kphi, t, io.v, io.ldv);
  }
  std::int64_t pairs = 0;
  for (int p = 0; p < t; p += c) {
    const int n = std::min(c, t - p);
    float* qphi = ws.m_qphi.data();
    favor::softmax_query_features(w, io.q + sz(p) * io.ldq, n, io.ldq, eps, qphi, ws.m_qstab.data());
    if (causal) {
      std::copy_n(kphi + sz(p) * m, sz(n) * m, ws.m_kchunk.data());
      scan.causal_chunk(qphi, ws.m_kchunk.data(), ws.m_kscale.data() + p, n, io.v + sz(p) * io.ldv, io.ldv, 0.0f,
                        ws.m_num.data(), dv, ws.m_den.data());
    } else {
      scan.read(qphi, n, 0.0f, ws.m_num.data(), dv, ws.m_den.data());
    }
    for (int r = 0; r < n; ++r) {
      const int i = p + r;
      const float ref = causal ? ws.m_kscale[i] : c_k;  // the key reference ρ_i of this row's sums
      const float* qi = io.q + sz(i) * io.ldq;
      const float* fq = qphi + sz(r) * m;
      float* num = ws.m_num.data() + sz(r) * dv;
      float& den = ws.m_den[r];
      const std::span<const std::int32_t> keys = support(i);
      if (keys.size() > static_cast<std::size_t>(t))
        throw std::invalid_argument("scatterbrain::corrected_head: support larger than the sequence");
      const bool full = keys.size() == static_cast<std::size_t>(causal ? i + 1 : t);
      // Exact log-kernels s_ij = τ·q_i·k_j − c_i − ρ_i on the support, and the row's common rescale e^{−L}
      // with L = max(max_j s_ij, log den_i): every term is then ≤ 1, so neither ê (large logits) nor
      // the Performer sums overflow. num and den share the factor, which cancels in o_i.
      float* s_row = ws.m_scores.data();
      float top = -std::numeric_limits<float>::infinity();
      for (std::size_t e = 0; e < keys.size(); ++e) {
        const std::int32_t j = keys[e];
        if (j < 0 || j >= t || (causal && j > i))
          throw std::invalid_argument("scatterbrain::corrected_head: support key outside the visible range");
        s_row[e] = tau * favor::dot(qi, io.k + sz(j) * io.ldk, d) - ws.m_qstab[r] - ref;
        top = std::max(top, s_row[e]);
      }
      if (full) {  // every visible key is exact: the low-rank part cancels, drop it outright
        std::fill_n(num, dv, 0.0f);
        den = 0.0f;
      } else if (den > 0.0f) {
        top = std::max(top, std::log(den));
      }
      const float shift = std::isfinite(top) ? top : 0.0f;
      const float g = std::exp(-shift);
      for (int x = 0; x < dv; ++x) num[x] *= g;
      den *= g;
      for (std::size_t e = 0; e < keys.size(); ++e) {
        const std::int32_t j = keys[e];
        float w = std::exp(s_row[e] - shift);
        if (!full) {
          float approx = favor::dot(fq, kphi + sz(j) * m, m);
          approx *= causal ? std::exp(ws.m_kscale[j] - ref - shift) : g;
          w -= approx;
        }
        const float* vj = io.v + sz(j) * io.ldv;
        for (int x = 0; x < dv; ++x) num[x] += w * vj[x];
        den += w;
      }
      pairs += static_cast<std::int64_t>(keys.size());
      const float inv = 1.0f / std::max(den, std::numeric_limits<float>::min());
      float* o = io.out + sz(i) * io.ldo;
      for (int x = 0; x < dv; ++x) o[x] = num[x] * inv;
    }
  }
  return pairs;
}

}  // namespace sb::scatterbrain
