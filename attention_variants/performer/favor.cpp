#include "attention_variants/performer/favor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "harness/core/blas.hpp"

namespace sb::favor {

std::string_view to_string(kernel_kind k) {
  switch (k) {
    case kernel_kind::softmax: return "softmax";
    case kernel_kind::relu: return "relu";
  }
  return "?";
}

std::optional<kernel_kind> kernel_from_string(std::string_view s) {
  if (s == "softmax") return kernel_kind::softmax;
  if (s == "relu") return kernel_kind::relu;
  return std::nullopt;
}

float default_eps(kernel_kind k) { return k == kernel_kind::softmax ? 1e-6f : 1e-3f; }

int features_from_nbf(int d, int nbf) {
  if (d < 1 || nbf < 1) return 0;
  return static_cast<int>(std::floor(static_cast<double>(d) * std::log(static_cast<double>(d)) / nbf));
}

int features_from_params(const problem& p, const param_set& params) {
  const auto explicit_m = params.get_int("features");
  if (explicit_m > 0) return static_cast<int>(explicit_m);
  return features_from_nbf(p.head_dim, static_cast<int>(params.get_int("nbf")));
}

std::optional<std::string> features_unsupported_reason(const problem& p, const param_set& params) {
  if (features_from_params(p, params) < 1)
    return fmt::format("m = floor(d·ln d / nbf) = 0 for d = {}, nbf = {}; set features", p.head_dim,
                       params.get_int("nbf"));
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// Projections
// ---------------------------------------------------------------------------------------------------

namespace {

/// Columns of the d×d row-major matrix g, orthonormalised in place by modified Gram–Schmidt (twice,
/// for orthogonality to fp64 rounding). Equals Q·diag(sign(diag R)) of g = QR.
void orthonormalise_columns(std::vector<double>& g, int d) {
  auto at = [&](int r, int c) -> double& { return g[static_cast<std::size_t>(r) * d + c]; };
  for (int c = 0; c < d; ++c) {
    for (int pass = 0; pass < 2; ++pass)
      for (int p = 0; p < c; ++p) {
        double dot = 0;
        for (int r = 0; r < d; ++r) dot += at(r, p) * at(r, c);
        for (int r = 0; r < d; ++r) at(r, c) -= dot * at(r, p);
      }
    double norm = 0;
    for (int r = 0; r < d; ++r) norm += at(r, c) * at(r, c);
    norm = std::sqrt(norm);
    if (!(norm > 1e-300)) throw std::runtime_error("favor: degenerate Gaussian block in the orthogonal draw");
    for (int r = 0; r < d; ++r) at(r, c) /= norm;
  }
}

}  // namespace

projection draw_projection(std::uint64_t seed, int m, int d, const draw_options& opt) {
  if (m < 1 || d < 1) throw std::invalid_argument("favor: a projection needs m ≥ 1 and d ≥ 1");
  projection out;
  out.m = m;
  out.d = d;
  out.w.assign(static_cast<std::size_t>(m) * d, 0.0f);
  counter_rng rng(seed, opt.stream);
  if (!opt.orthogonal) {
    for (auto& x : out.w) x = static_cast<float>(rng.normal());
    return out;
  }
  std::vector<double> rows(static_cast<std::size_t>(m) * d);  // unit rows, fp64 until scaled
  std::vector<double> g(static_cast<std::size_t>(d) * d);
  const int blocks = (m + d - 1) / d;
  for (int b = 0; b < blocks; ++b) {
    for (auto& x : g) x = rng.normal();
    orthonormalise_columns(g, d);
    const int take = std::min(d, m - b * d);
    for (int r = 0; r < take; ++r)      // block row r = column r of Q
      for (int c = 0; c < d; ++c) rows[static_cast<std::size_t>(b * d + r) * d + c] = g[static_cast<std::size_t>(c) * d + r];
  }
  for (int f = 0; f < m; ++f) {
    double norm = 0;
    if (opt.norms == row_norms::chi) {
      for (int c = 0; c < d; ++c) {
        const double z = rng.normal();
        norm += z * z;
      }
      norm = std::sqrt(norm);
    } else {
      norm = std::sqrt(static_cast<double>(d));
    }
    for (int c = 0; c < d; ++c)
      out.w[static_cast<std::size_t>(f) * d + c] = static_cast<float>(rows[static_cast<std::size_t>(f) * d + c] * norm);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Feature maps
// ---------------------------------------------------------------------------------------------------

void softmax_exponents(const projection& w, const float* x, int n, int ldx, float* a) {
  if (n <= 0) return;
  const int m = w.m, d = w.d;
  const float s = static_cast<float>(std::pow(static_cast<double>(d), -0.25));  // x̃ = d^{-1/4}·x
  blas::sgemm(false, true, n, m, d, s, x, ldx, w.w.data(), d, 0.0f, a, m);
  const float half_s2 = 0.5f * s * s;
  for (int i = 0; i < n; ++i) {
    const float* xi = x + static_cast<std::size_t>(i) * ldx;
    float sq = 0;
    for (int c = 0; c < d; ++c) sq += xi[c] * xi[c];
    const float diag = half_s2 * sq;  // ‖x̃‖²/2
    float* ai = a + static_cast<std::size_t>(i) * m;
    for (int f = 0; f < m; ++f) ai[f] -= diag;
  }
}

void softmax_features_from_exponents(float* a, int n, int m, const float* stab, float c, float eps) {
  const float ratio = 1.0f / std::sqrt(static_cast<float>(m));
  for (int i = 0; i < n; ++i) {
    const float ci = (stab ? stab[i] : 0.0f) + c;
    float* ai = a + static_cast<std::size_t>(i) * m;
    for (int f = 0; f < m; ++f) ai[f] = ratio * (std::exp(ai[f] - ci) + eps);
  }
}

void softmax_query_features(const projection& w, const float* x, int n, int ldx, float eps, float* phi,
                            float* stab_out) {
  softmax_exponents(w, x, n, ldx, phi);
  const int m = w.m;
  for (int i = 0; i < n; ++i) {
    float* ai = phi + static_cast<std::size_t>(i) * m;
    const float c = *std::max_element(ai, ai + m);
    if (stab_out) stab_out[i] = c;
    softmax_features_from_exponents(ai, 1, m, nullptr, c, eps);
  }
}

float softmax_global_key_features(const projection& w, const float* k, int n, int ldk, float eps, float shift,
                                  float* phi) {
  if (n <= 0) return 0.0f;
  softmax_exponents(w, k, n, ldk, phi);
  const float c_k = *std::max_element(phi, phi + static_cast<std::size_t>(n) * w.m);
  softmax_features_from_exponents(phi, n, w.m, nullptr, c_k + shift, eps);
  return c_k;
}

float softmax_causal_key_features(const projection& w, const float* k, int n, int ldk, float eps, float shift,
                                  float running, float* phi, float* log_scale) {
  if (n <= 0) return running;
  const int m = w.m;
  softmax_exponents(w, k, n, ldk, phi);
  for (int j = 0; j < n; ++j) {
    const float* a = phi + static_cast<std::size_t>(j) * m;
    running = std::max(running, *std::max_element(a, a + m));
    log_scale[j] = running;
  }
  softmax_features_from_exponents(phi, n, m, log_scale, shift, eps);
  return running;
}

void softmax_features_unstabilised(const projection& w, const float* x, int n, int ldx, float eps, float* phi) {
  softmax_exponents(w, x, n, ldx, phi);
  softmax_features_from_exponents(phi, n, w.m, nullptr, 0.0f, eps);
}

void relu_features(const projection& w, const float* x, int n, int ldx, float eps, float* phi) {
  if (n <= 0) return;
  const int m = w.m, d = w.d;
  const float s = static_cast<float>(std::pow(static_cast<double>(d), -0.25));
  blas::sgemm(false, true, n, m, d, s, x, ldx, w.w.data(), d, 0.0f, phi, m);
  const std::size_t total = static_cast<std::size_t>(n) * m;
  for (std::size_t i = 0; i < total; ++i) phi[i] = std::max(phi[i], 0.0f) + eps;
}

// ---------------------------------------------------------------------------------------------------
// linear_scan
// ---------------------------------------------------------------------------------------------------

namespace {
std::size_t sz(int a) { return static_cast<std::size_t>(a); }
}  // namespace

linear_scan::linear_scan(int features, int dv, int chunk, bool causal)
    : m_f(features),
      m_dv(dv),
      m_chunk(chunk),
      m_causal(causal),
      m_s(sz(features) * dv),
      m_z(sz(features)),
      m_acc(sz(chunk) * dv),
      m_den(sz(chunk)),
      m_a(causal ? sz(chunk) * chunk : 0),
      m_rho(causal ? sz(chunk) : 0) {
  if (features < 1 || dv < 1 || chunk < 1) throw std::invalid_argument("linear_scan: features, dv and chunk must be ≥ 1");
  reset();
}

std::size_t linear_scan::floats(int features, int dv, int chunk, bool causal) {
  std::size_t n = sz(features) * dv + sz(features) + sz(chunk) * dv + sz(chunk);
  if (causal) n += sz(chunk) * chunk + sz(chunk);
  return n;
}

void linear_scan::reset() {
  m_s.fill(0.0f);
  m_z.fill(0.0f);
  m_ref = 0.0f;
  m_empty = true;
}

void linear_scan::add_keys(const float* phi_k, int n, const float* v, int ldv) {
  if (m_causal) throw std::logic_error("linear_scan::add_keys on a causal scan");
  if (n <= 0) return;
  blas::sgemm(true, false, m_f, m_dv, n, 1.0f, phi_k, m_f, v, ldv, 1.0f, m_s.data(), m_dv);
  for (int j = 0; j < n; ++j) {
    const float* row = phi_k + sz(j) * m_f;
    for (int f = 0; f < m_f; ++f) m_z[f] += row[f];
  }
  m_empty = false;
}

namespace {
/// out_i = acc_i / max(den_i, floor) for n rows.
void normalise_rows(const float* acc, const float* den, int n, int dv, float den_floor, float* out, int ldo) {
  const float floor = std::max(den_floor, std::numeric_limits<float>::min());
  for (int i = 0; i < n; ++i) {
    const float inv = 1.0f / std::max(den[i], floor);
    const float* a = acc + sz(i) * dv;
    float* o = out + sz(i) * ldo;
    for (int c = 0; c < dv; ++c) o[c] = a[c] * inv;
  }
}

/// Normalised rows, or (den_out non-null) the numerators and denominators as they are.
void emit_rows(const float* acc, const float* den, int n, int dv, float den_floor, float* out, int ldo,
               float* den_out) {
  if (!den_out) {
    normalise_rows(acc, den, n, dv, den_floor, out, ldo);
    return;
  }
  for (int i = 0; i < n; ++i) {
    std::copy_n(acc + sz(i) * dv, dv, out + sz(i) * ldo);
    den_out[i] = den[i];
  }
}

}  // namespace

void linear_scan::read(const float* phi_q, int n, float den_floor, float* out, int ldo, float* den_out) {
  if (m_causal) throw std::logic_error("linear_scan::read on a causal scan");
  for (int i0 = 0; i0 < n; i0 += m_chunk) {
    const int nq = std::min(m_chunk, n - i0);
    const float* pq = phi_q + sz(i0) * m_f;
    blas::sgemm(false, false, nq, m_dv, m_f, 1.0f, pq, m_f, m_s.data(), m_dv, 0.0f, m_acc.data(), m_dv);
    for (int i = 0; i < nq; ++i) m_den[i] = dot(pq + sz(i) * m_f, m_z.data(), m_f);
    emit_rows(m_acc.data(), m_den.data(), nq, m_dv, den_floor, out + sz(i0) * ldo, ldo,
              den_out ? den_out + i0 : nullptr);
  }
}

void linear_scan::causal_chunk(const float* phi_q, float* phi_k, const float* key_log_scale, int n, const float* v,
                               int ldv, float den_floor, float* out, int ldo, float* den_out) {
  if (!m_causal) throw std::logic_error("linear_scan::causal_chunk on a non-causal scan");
  if (n <= 0) return;
  if (n > m_chunk) throw std::invalid_argument("linear_scan::causal_chunk: more rows than the chunk size");
  const int c = m_chunk;
  // Row references ρ_i: running max of the key log-scales (and of the state's scale).
  if (key_log_scale) {
    float running = m_empty ? -std::numeric_limits<float>::infinity() : m_ref;
    for (int i = 0; i < n; ++i) m_rho[i] = running = std::max(running, key_log_scale[i]);
  }
  // Between chunks: num_i = φq_i·S, den_i = φq_i·z, rescaled from the state's reference to ρ_i.
  if (m_empty) {
    std::fill_n(m_acc.data(), sz(n) * m_dv, 0.0f);
    std::fill_n(m_den.data(), n, 0.0f);
  } else {
    blas::sgemm(false, false, n, m_dv, m_f, 1.0f, phi_q, m_f, m_s.data(), m_dv, 0.0f, m_acc.data(), m_dv);
    for (int i = 0; i < n; ++i) m_den[i] = dot(phi_q + sz(i) * m_f, m_z.data(), m_f);
    if (key_log_scale)
      for (int i = 0; i < n; ++i) {
        const float g = std::exp(m_ref - m_rho[i]);
        m_den[i] *= g;
        float* a = m_acc.data() + sz(i) * m_dv;
        for (int x = 0; x < m_dv; ++x) a[x] *= g;
      }
  }
  // Inside the chunk: the masked quadratic form A_ij = φq_i·φk_j·e^{s_j − ρ_i} for j ≤ i.
  blas::sgemm(false, true, n, n, m_f, 1.0f, phi_q, m_f, phi_k, m_f, 0.0f, m_a.data(), c);
  for (int i = 0; i < n; ++i) {
    float* row = m_a.data() + sz(i) * c;
    if (key_log_scale)
      for (int j = 0; j <= i; ++j) row[j] *= std::exp(key_log_scale[j] - m_rho[i]);
    std::fill(row + i + 1, row + n, 0.0f);
    float s = 0;
    for (int j = 0; j <= i; ++j) s += row[j];
    m_den[i] += s;
  }
  blas::sgemm(false, false, n, m_dv, n, 1.0f, m_a.data(), c, v, ldv, 1.0f, m_acc.data(), m_dv);
  emit_rows(m_acc.data(), m_den.data(), n, m_dv, den_floor, out, ldo, den_out);
  // Carry the state to the end of the chunk, relative to its last reference.
  if (key_log_scale) {
    const float ref = m_rho[n - 1];
    if (!m_empty) {
      const float g = std::exp(m_ref - ref);
      for (auto& x : m_s.span()) x *= g;
      for (auto& x : m_z.span()) x *= g;
    }
    for (int j = 0; j < n; ++j) {
      const float g = std::exp(key_log_scale[j] - ref);
      float* row = phi_k + sz(j) * m_f;
      for (int f = 0; f < m_f; ++f) row[f] *= g;
    }
    m_ref = ref;
  }
  blas::sgemm(true, false, m_f, m_dv, n, 1.0f, phi_k, m_f, v, ldv, 1.0f, m_s.data(), m_dv);
  for (int j = 0; j < n; ++j) {
    const float* row = phi_k + sz(j) * m_f;
    for (int f = 0; f < m_f; ++f) m_z[f] += row[f];
  }
  m_empty = false;
}

double linear_scan::flops(int t, int features, int dv, int chunk, bool causal) {
  const double f = features, v = dv;
  if (!causal) {
    // add_keys: 2·t·F·Dv + t·F; read: 2·t·F·Dv + 2·t·F + t·Dv (normalise)
    return t * (4.0 * f * v + 3.0 * f + v);
  }
  double total = 0;
  for (int p = 0; p < t; p += chunk) {
    const double n = std::min(chunk, t - p);
    total += 2 * n * f * v + 2 * n * f;    // φQ·S, φQ·z
    total += 2 * n * n * f + 2 * n * n * v + n * n;  // φQ·φKᵀ, A·V, row sums (full chunk computed)
    total += 2 * n * f * v + n * f;        // state update
    total += n * v;                        // normalise
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// FAVOR+ attention
// ---------------------------------------------------------------------------------------------------

namespace {
int chunk_rows(const settings& s, int max_t) { return std::max(1, std::min(s.chunk, max_t)); }
int key_rows(const settings& s, int max_t) {
  return (s.kernel == kernel_kind::softmax && !s.causal) ? max_t : chunk_rows(s, max_t);
}
}  // namespace

workspace::workspace(int m, const settings& s, int max_t, int dv)
    : m_m(m),
      m_max_t(max_t),
      m_dv(dv),
      m_key_phi(sz(key_rows(s, max_t)) * m),
      m_query_phi(sz(chunk_rows(s, max_t)) * m),
      m_key_scale(s.causal && s.kernel == kernel_kind::softmax ? sz(chunk_rows(s, max_t)) : 0),
      m_scan(m, dv, chunk_rows(s, max_t), s.causal) {}

std::size_t workspace::bytes(int m, const settings& s, int max_t, int dv) {
  const int c = chunk_rows(s, max_t);
  std::size_t floats = sz(key_rows(s, max_t)) * m + sz(c) * m;
  if (s.causal && s.kernel == kernel_kind::softmax) floats += sz(c);
  floats += linear_scan::floats(m, dv, c, s.causal);
  return floats * sizeof(float);
}

void attend(const projection& w, const settings& s, const head_io& io, workspace& ws) {
  if (io.t > ws.m_max_t || io.dv != ws.m_dv || w.m != ws.m_m)
    throw std::invalid_argument("favor::attend: the head or projection does not match the workspace");
  const int t = io.t;
  if (t <= 0) return;
  const float eps = s.feature_eps();
  const bool softmax = s.kernel == kernel_kind::softmax;
  linear_scan& scan = ws.m_scan;
  const int c = scan.chunk();
  float* kphi = ws.m_key_phi.data();
  float* qphi = ws.m_query_phi.data();
  scan.reset();
  auto query_features = [&](int p, int n) {
    const float* q = io.q + sz(p) * io.ldq;
    if (softmax) softmax_query_features(w, q, n, io.ldq, eps, qphi);
    else relu_features(w, q, n, io.ldq, eps, qphi);
  };
  if (!s.causal) {
    if (softmax) {
      // One stabiliser per head over all features and positions, so all key exponents come first.
      softmax_global_key_features(w, io.k, t, io.ldk, eps, s.key_stabiliser_shift, kphi);
      scan.add_keys(kphi, t, io.v, io.ldv);
    } else {
      for (int p = 0; p < t; p += c) {
        const int n = std::min(c, t - p);
        relu_features(w, io.k + sz(p) * io.ldk, n, io.ldk, eps, kphi);
        scan.add_keys(kphi, n, io.v + sz(p) * io.ldv, io.ldv);
      }
    }
    for (int p = 0; p < t; p += c) {
      const int n = std::min(c, t - p);
      query_features(p, n);
      scan.read(qphi, n, 0.0f, io.out + sz(p) * io.ldo, io.ldo);
    }
    return;
  }
  float running = -std::numeric_limits<float>::infinity();  // r_j: max exponent over keys 0..j
  float* scale = ws.m_key_scale.data();
  for (int p = 0; p < t; p += c) {
    const int n = std::min(c, t - p);
    const float* k = io.k + sz(p) * io.ldk;
    if (softmax) {
      running = softmax_causal_key_features(w, k, n, io.ldk, eps, s.key_stabiliser_shift, running, kphi, scale);
    } else {
      relu_features(w, k, n, io.ldk, eps, kphi);
    }
    query_features(p, n);
    scan.causal_chunk(qphi, kphi, softmax ? scale : nullptr, n, io.v + sz(p) * io.ldv, io.ldv, 0.0f,
                      io.out + sz(p) * io.ldo, io.ldo);
  }
}

double attend_flops(int m, int d, const settings& s, int t, int dv) {
  // Two projections (queries and keys): 2·t·m·d each, plus the ‖x‖² or ReLU pass.
  const double proj = 2.0 * (2.0 * t * m * d + 2.0 * t * d);
  const int c = std::max(1, std::min(s.chunk, t));
  return proj + linear_scan::flops(t, m, dv, c, s.causal);
}

}  // namespace sb::favor
