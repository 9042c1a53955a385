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
      m_scan(m, dv, m_chunk, causal) {}

std::size_t corrected_workspace::bytes(int m, int max_t, int dv, int chunk, bool causal) {
  const int c = chunk_rows(chunk, max_t);
  std::size_t floats = sz(max_t) * m + sz(c) * m + sz(c) + sz(c) * dv + sz(c);
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
      const bool full = keys.size() == static_cast<std::size_t>(causal ? i + 1 : t);
      if (full) {  // every visible key is exact: the low-rank part cancels, drop it outright
        std::fill_n(num, dv, 0.0f);
        den = 0.0f;
      }
      for (const std::int32_t j : keys) {
        if (j < 0 || j >= t || (causal && j > i))
          throw std::invalid_argument("scatterbrain::corrected_head: support key outside the visible range");
        const float* kj = io.k + sz(j) * io.ldk;
        float e = std::exp(tau * favor::dot(qi, kj, d) - ws.m_qstab[r] - ref);
        if (!full) {
          float approx = favor::dot(fq, kphi + sz(j) * m, m);
          if (causal) approx *= std::exp(ws.m_kscale[j] - ref);
          e -= approx;
        }
        const float* vj = io.v + sz(j) * io.ldv;
        for (int x = 0; x < dv; ++x) num[x] += e * vj[x];
        den += e;
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
