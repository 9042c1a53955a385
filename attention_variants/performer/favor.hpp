// FAVOR+ building blocks (Choromanski et al., ICLR 2021; baselines.md §2) and the normalised
// linear-attention products shared by every kernel method (performer, linear, cosformer, scatterbrain
// and SEA's Performer estimator).
//
// Three layers, each usable alone:
//   1. Projections: draw_projection() makes W [m, d] (orthogonal blocks or iid Gaussian rows) from
//      counter_rng(seed, rng_stream::features), so a GPU port gets identical numbers. A projection can
//      also be filled from a weights file (SEA exports it with the model): fill `w` yourself.
//   2. Feature maps for one head's rows: softmax_exponents() (the log of the positive softmax feature
//      before any stabiliser), softmax_query_features() (per-row stabiliser), relu_features() (the
//      "generalized" kernel of performer-pytorch), softmax_features_unstabilised() (tests).
//   3. linear_scan: o_i = Σ_j (φq_i·φk_j)·v_j / Σ_j (φq_i·φk_j) over the visible keys, for ANY
//      non-negative features; non-causal (state = Σ_j φk_j [v_j | 1]) or causal (a chunked scan: a
//      masked quadratic block inside each chunk, an [F, Dv] fp32 state carried between chunks). Causal
//      keys may carry per-key log-scales (feature = e^{s_j}·φk_j); the scan keeps everything relative to
//      the running maximum of s, so nothing overflows and no row looks at a later key.
//   attend() composes 1–3 into one head of FAVOR+ attention with the stabilisers of baselines.md §2.
//   feature_map_attention() runs 3 over every head for a deterministic feature map (linear, cosformer).
//
// Stabilisers (softmax kernel). Exponent a_f(x) = w_f·x̃ − ‖x̃‖²/2 with x̃ = d^{-1/4}·x.
//   Queries: c_i = max_f a_f(q_i), per row (cancels in the row normalisation).
//   Keys, non-causal: one constant per head, c_K = max over features AND positions of a_f(k_j).
//   Keys, causal: a global constant would read future keys (the causal canary forbids it), and a per-key
//     max dropped from the estimate biases it. We use the running maximum r_j = max_{j' ≤ j, f} a_f(k_j'),
//     store φk_j = m^{-1/2}(exp(a(k_j) − r_j) + ε) with log-scale r_j, and the scan rescales by
//     e^{r_j − r_i} ≤ 1 for row i. In exact arithmetic this is the global-constant estimator with row i
//     using the constant r_i, which cancels in row i's normalisation; only ε differs (it is added at the
//     scale r_j of the key's own prefix instead of the global scale).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::favor {

enum class kernel_kind {
  softmax,  ///< positive random features, E[φ(q)·φ(k)] = exp(q·k/√d)
  relu,     ///< φ(x) = ReLU(d^{-1/4}·W·x) + ε, no exp, no stabiliser (performer-pytorch generalized_attention)
};
[[nodiscard]] std::string_view to_string(kernel_kind k);
[[nodiscard]] std::optional<kernel_kind> kernel_from_string(std::string_view s);
/// ε added to every feature: 1e-6 for softmax (official FAVOR+ numerical_stabilizer), 1e-3 for ReLU
/// (performer-pytorch kernel_epsilon).
[[nodiscard]] float default_eps(kernel_kind k);
/// The SEA paper's rule m = floor(d·ln d / nbf) (performer-pytorch default nb_features with a divisor):
/// d = 64 → 266 / 133 / 66 / 33 for nbf 1 / 2 / 4 / 8; d = 128 → 621 / 310 / 155 / 77.
[[nodiscard]] int features_from_nbf(int d, int nbf);
/// m from the parameter `features` when it is > 0, else from `nbf` (features_from_nbf): the rule of the
/// performer and scatterbrain variants.
[[nodiscard]] int features_from_params(const problem& p, const param_set& params);
/// Why features_from_params gives no feature (m < 1), or nullopt.
[[nodiscard]] std::optional<std::string> features_unsupported_reason(const problem& p, const param_set& params);

// ---------------------------------------------------------------------------------------------------
// 1. Projections
// ---------------------------------------------------------------------------------------------------

/// Row lengths of an orthogonal projection: norms of fresh d-dimensional Gaussian rows (χ_d,
/// performer "scaling 0", keeps each row marginally N(0, I) so the softmax estimator is unbiased) or
/// √d for every row ("scaling 1").
enum class row_norms { chi, sqrt_d };

struct draw_options {
  bool orthogonal = true;         ///< false: iid N(0, 1) entries (the FAVOR baseline without ORF)
  row_norms norms = row_norms::chi;
  std::uint64_t stream = rng_stream::features;
};

/// W [m, d] row-major; one projection is shared by every batch and head of a case (performer-pytorch
/// registers a single buffer per layer).
struct projection {
  int m = 0;
  int d = 0;
  std::vector<float> w;
  [[nodiscard]] const float* row(int f) const { return w.data() + static_cast<std::size_t>(f) * d; }
};

/// Draw W from counter_rng(seed, opt.stream), consuming draws in this order (each normal is one
/// Box–Muller pair of consecutive u32 draws, counter_rng::normal):
///   orthogonal: for each of ceil(m/d) blocks, a d×d Gaussian G (row-major); the block is Qᵀ of G = QR
///     with signs fixed so diag R > 0 (Gram–Schmidt of G's columns in fp64, re-orthogonalised once); the
///     last block is truncated to the rows still needed. Then, for norms = chi, m·d further normals: row
///     f is rescaled to the Euclidean norm of normals [f·d, (f+1)·d). For norms = sqrt_d, rows get √d.
///   iid: m·d normals, row-major; `norms` is ignored.
/// Throws std::invalid_argument for m < 1 or d < 1.
[[nodiscard]] projection draw_projection(std::uint64_t seed, int m, int d, const draw_options& opt = {});

// ---------------------------------------------------------------------------------------------------
// 2. Feature maps (one head; x is n rows of length w.d with leading dimension ldx; outputs [n, m])
// ---------------------------------------------------------------------------------------------------

/// a[i·m + f] = w_f·x̃_i − ‖x̃_i‖²/2, x̃ = d^{-1/4}·x_i: the log of the unstabilised softmax feature
/// (without the m^{-1/2} factor). One sgemm.
void softmax_exponents(const projection& w, const float* x, int n, int ldx, float* a);

/// Per-row stabilised softmax features (the query map): φ_if = m^{-1/2}·(exp(a_if − c_i) + eps) with
/// c_i = max_f a_if, written to stab_out[i] when stab_out is non-null.
void softmax_query_features(const projection& w, const float* x, int n, int ldx, float eps, float* phi,
                            float* stab_out = nullptr);

/// Non-causal key features with one stabiliser for the head: φ_jf = m^{-1/2}·(exp(a_jf − c_K − shift) + eps),
/// c_K = max over all features and all n positions. Returns c_K.
float softmax_global_key_features(const projection& w, const float* k, int n, int ldk, float eps, float shift,
                                  float* phi);

/// Causal key features for rows that continue a sequence: r_j = max(running, max_f a_j'f for j' ≤ j)
/// is written to log_scale[j] and φ_jf = m^{-1/2}·(exp(a_jf − r_j − shift) + eps), i.e. key j's feature
/// is e^{r_j}·φ_j up to the constant e^{shift}. Pass −∞ as `running` at position 0; returns r of the last
/// row (the `running` for the next call).
float softmax_causal_key_features(const projection& w, const float* k, int n, int ldk, float eps, float shift,
                                  float running, float* phi, float* log_scale);

/// Unstabilised softmax features φ_if = m^{-1/2}·(exp(a_if) + eps), with E[φ(q)·φ(k)] = exp(q·k/√d)
/// when eps = 0 and the rows of W are marginally N(0, I). Overflows for large inputs: tests only.
void softmax_features_unstabilised(const projection& w, const float* x, int n, int ldx, float eps, float* phi);

/// Softmax features from exponents `a` [n, m] in place: φ_if = m^{-1/2}·(exp(a_if − c_i) + eps) with
/// c_i = stab[i] (stab non-null) or c (stab null).
void softmax_features_from_exponents(float* a, int n, int m, const float* stab, float c, float eps);

/// ReLU ("generalized") features φ_if = max(0, d^{-1/4}·w_f·x_i) + eps.
void relu_features(const projection& w, const float* x, int n, int ldx, float eps, float* phi);

/// Σ_i a[i]·b[i] in fp32 with eight partial sums (vectorisable without -ffast-math).
[[nodiscard]] inline float dot(const float* a, const float* b, int n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += a[i + l] * b[i + l];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
}

// ---------------------------------------------------------------------------------------------------
// 3. Normalised linear attention over given features
// ---------------------------------------------------------------------------------------------------

/// State and scratch of one head's linear attention with F features and Dv value columns. All buffers
/// are tracked; reuse one object across heads (call reset() between heads).
///
/// Non-causal: add_keys() any number of times, then read() any number of times.
/// Causal: causal_chunk() on consecutive chunks of ≤ chunk positions, in order from position 0.
/// Output row i = num_i / max(den_i, den_floor); an all-zero row (den_i = 0) outputs 0.
class linear_scan {
 public:
  linear_scan(int features, int dv, int chunk, bool causal);
  /// Floats the constructor allocates.
  [[nodiscard]] static std::size_t floats(int features, int dv, int chunk, bool causal);
  [[nodiscard]] int chunk() const { return m_chunk; }

  /// Empty state (next head).
  void reset();

  /// Non-causal: S += φKᵀ·V, z += φKᵀ·1 for n keys (φK [n, F], V [n, Dv] with leading dimension ldv).
  void add_keys(const float* phi_k, int n, const float* v, int ldv);
  /// Non-causal: out_i = φq_i·S / max(φq_i·z, den_floor) for n query rows (any n; processed in chunks).
  /// With den_out non-null, out_i = φq_i·S and den_out[i] = φq_i·z instead (unnormalised, for callers
  /// that add terms before dividing, e.g. scatterbrain's correction).
  void read(const float* phi_q, int n, float den_floor, float* out, int ldo, float* den_out = nullptr);

  /// Causal: rows [p, p+n) of one head, n ≤ chunk, continuing from the previous call. φQ, φK are [n, F].
  /// key_log_scale (nullable; pass it on every call of a head or on none) gives s_j: key j's feature is
  /// e^{s_j}·phi_k[j]. Row i then uses reference ρ_i = max(running max of s up to i), so every factor
  /// e^{s_j − ρ_i} ≤ 1. phi_k is overwritten (rows rescaled for the state update).
  /// With den_out non-null the rows are left unnormalised: out_i = e^{−ρ_i}·Σ_{j≤i} (φq_i·φk_j)e^{s_j}·v_j
  /// and den_out[i] the same sum without v_j (ρ_i = 0 without log-scales).
  void causal_chunk(const float* phi_q, float* phi_k, const float* key_log_scale, int n, const float* v, int ldv,
                    float den_floor, float* out, int ldo, float* den_out = nullptr);

  /// The executed FLOPs of one head of T positions (multiply-add = 2; exp and compare not counted).
  [[nodiscard]] static double flops(int t, int features, int dv, int chunk, bool causal);

 private:
  int m_f, m_dv, m_chunk;
  bool m_causal;
  tracked_buffer<float> m_s;    ///< [F, Dv] Σ φk·vᵀ (relative to e^{m_ref})
  tracked_buffer<float> m_z;    ///< [F]     Σ φk
  tracked_buffer<float> m_acc;  ///< [chunk, Dv] numerators
  tracked_buffer<float> m_den;  ///< [chunk] denominators
  tracked_buffer<float> m_a;    ///< [chunk, chunk] masked intra-chunk scores (causal only)
  tracked_buffer<float> m_rho;  ///< [chunk] row references ρ_i (causal only)
  float m_ref = 0.0f;           ///< log-scale of the causal state
  bool m_empty = true;
};

/// Normalised linear attention of every head of [B, H, T, D] inputs under a deterministic feature map
/// with F features per row (linear, cosformer). featurize(x, n, pos, phi) writes the features of the n
/// rows at x (row stride D), which sit at positions [pos, pos + n), to phi [n, F]. Keys and queries are
/// featurised `chunk` rows at a time into two tracked [chunk, F] buffers; non-causal: every key goes into
/// the state, then every query block reads it; causal: one linear_scan::causal_chunk per chunk. Output
/// row i = num_i / max(den_i, den_floor). Allocates feature_map_attention_floats(...) floats.
template <typename Featurize>
void feature_map_attention(const problem& p, int features, int chunk, qkv_view in, float* out, float den_floor,
                           Featurize&& featurize) {
  const int t = p.seq_len, d = p.head_dim, c = chunk;
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads;
  const std::size_t head_elems = static_cast<std::size_t>(t) * d;
  tracked_buffer<float> kphi(static_cast<std::size_t>(c) * features), qphi(static_cast<std::size_t>(c) * features);
  linear_scan scan(features, d, c, p.causal);
  for (std::size_t bh = 0; bh < heads; ++bh) {
    const float* q = in.q + bh * head_elems;
    const float* k = in.k + bh * head_elems;
    const float* v = in.v + bh * head_elems;
    float* o = out + bh * head_elems;
    scan.reset();
    for (int pos = 0; pos < t; pos += c) {
      const int n = std::min(c, t - pos);
      const std::size_t off = static_cast<std::size_t>(pos) * d;
      featurize(k + off, n, pos, kphi.data());
      if (p.causal) {
        featurize(q + off, n, pos, qphi.data());
        scan.causal_chunk(qphi.data(), kphi.data(), nullptr, n, v + off, d, den_floor, o + off, d);
      } else {
        scan.add_keys(kphi.data(), n, v + off, d);
      }
    }
    if (p.causal) continue;
    for (int pos = 0; pos < t; pos += c) {
      const int n = std::min(c, t - pos);
      const std::size_t off = static_cast<std::size_t>(pos) * d;
      featurize(q + off, n, pos, qphi.data());
      scan.read(qphi.data(), n, den_floor, o + off, d);
    }
  }
}

/// Floats feature_map_attention allocates: the two feature buffers and the scan.
[[nodiscard]] inline std::size_t feature_map_attention_floats(int features, int dv, int chunk, bool causal) {
  return 2 * static_cast<std::size_t>(chunk) * features + linear_scan::floats(features, dv, chunk, causal);
}

// ---------------------------------------------------------------------------------------------------
// FAVOR+ attention for one head
// ---------------------------------------------------------------------------------------------------

struct settings {
  kernel_kind kernel = kernel_kind::softmax;
  bool causal = false;
  float eps = -1.0f;  ///< feature ε; negative = default_eps(kernel)
  int chunk = 64;     ///< rows per query block and per causal scan chunk
  /// Added to the key stabiliser (softmax kernel). The estimator does not depend on it except through ε
  /// (exactly not at all when eps = 0): the shift-invariance test uses it.
  float key_stabiliser_shift = 0.0f;
  [[nodiscard]] float feature_eps() const { return eps < 0 ? default_eps(kernel) : eps; }
};

/// One head's inputs and output: q, k [t, d] (d = projection.d), v [t, dv], out [t, dv], each with a
/// leading dimension.
struct head_io {
  const float* q = nullptr;
  int ldq = 0;
  const float* k = nullptr;
  int ldk = 0;
  const float* v = nullptr;
  int ldv = 0;
  float* out = nullptr;
  int ldo = 0;
  int t = 0;
  int dv = 0;
};

/// Tracked scratch for attend() on heads of up to max_t positions and dv value columns.
/// Softmax non-causal keeps all key features [max_t, m] (the per-head key stabiliser needs every
/// position first); every other mode works on chunks, so its memory does not grow with T.
class workspace {
 public:
  workspace(int m, const settings& s, int max_t, int dv);
  [[nodiscard]] static std::size_t bytes(int m, const settings& s, int max_t, int dv);

 private:
  friend void attend(const projection&, const settings&, const head_io&, workspace&);
  int m_m, m_max_t, m_dv;
  tracked_buffer<float> m_key_phi;    ///< [max_t or chunk, m]
  tracked_buffer<float> m_query_phi;  ///< [chunk, m]
  tracked_buffer<float> m_key_scale;  ///< [chunk] log-scales (causal softmax only)
  linear_scan m_scan;
};

/// FAVOR+ attention for one head with the stabilisers described at the top of this file.
/// Throws std::invalid_argument when io.t exceeds the workspace or io.dv or w.m differ from it.
void attend(const projection& w, const settings& s, const head_io& io, workspace& ws);

/// Executed FLOPs of attend() for one head of t positions (projections, state, readout; multiply-add = 2).
[[nodiscard]] double attend_flops(int m, int d, const settings& s, int t, int dv);

}  // namespace sb::favor
