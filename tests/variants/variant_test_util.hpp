// Helpers shared by the variant tests: seeded Gaussian tensors, the relative error against an fp64
// reference, exact fp64 softmax attention, and running a registered variant the way the harness does.
// The sparse variants' naive formulas are in attention_variants/sparse_common/naive_reference.hpp,
// SEA's in sea_test_util.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness/core/memory_tracker.hpp"
#include "harness/core/params.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"

namespace sb::variant_test {

using overrides = std::map<std::string, param_value>;

/// n values scale·N(0, 1) from counter_rng(seed, stream).
inline std::vector<float> random_tensor(std::size_t n, std::uint64_t seed, std::uint64_t stream, double scale = 1.0) {
  counter_rng rng(seed, stream);
  std::vector<float> x(n);
  for (auto& e : x) e = static_cast<float>(scale * rng.normal());
  return x;
}

struct inputs {
  std::vector<float> q, k, v;
  [[nodiscard]] qkv_view view() const { return {q.data(), k.data(), v.data()}; }
};

/// Q, K, V ~ N(0, 1) from the dataset streams (rng_stream::dataset_q, _k, _v) of `seed`.
inline inputs make_inputs(const problem& p, std::uint64_t seed) {
  return {random_tensor(p.qkv_elements(), seed, rng_stream::dataset_q),
          random_tensor(p.qkv_elements(), seed, rng_stream::dataset_k),
          random_tensor(p.qkv_elements(), seed, rng_stream::dataset_v)};
}

inline problem make_problem(int b, int h, int t, int d, int k, bool causal, std::uint64_t seed) {
  problem p;
  p.batch = b;
  p.heads = h;
  p.seq_len = t;
  p.head_dim = d;
  p.k = k;
  p.causal = causal;
  p.seed = seed;
  return p;
}

/// ‖got − want‖ / ‖want‖ (Frobenius).
inline double rel_err(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

/// Exact softmax attention in fp64 for every head of [B, H, T, D] inputs (keys j ≤ i when causal).
inline std::vector<double> exact_attention(const problem& p, const std::vector<float>& q, const std::vector<float>& k,
                                           const std::vector<float>& v) {
  const int t = p.seq_len, d = p.head_dim;
  std::vector<double> out(p.qkv_elements(), 0.0), s(t);
  const double tau = 1.0 / std::sqrt(double(d));
  for (int bh = 0; bh < p.batch * p.heads; ++bh) {
    const std::size_t base = std::size_t(bh) * t * d;
    for (int i = 0; i < t; ++i) {
      const int n = p.causal ? i + 1 : t;
      double mx = -1e300;
      for (int j = 0; j < n; ++j) {
        double acc = 0;
        for (int c = 0; c < d; ++c) acc += double(q[base + i * d + c]) * k[base + j * d + c];
        mx = std::max(mx, s[j] = tau * acc);
      }
      double sum = 0;
      for (int j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
      for (int j = 0; j < n; ++j)
        for (int c = 0; c < d; ++c) out[base + i * d + c] += s[j] / sum * v[base + j * d + c];
    }
  }
  return out;
}

/// fp64 o_i = Σ_j w_ij·v_j / max(Σ_j w_ij, 1e-6) over the visible keys j (j ≤ i when causal) of every head,
/// the weights materialised: w_ij = weight(base, i, j) with base = the head's offset (b·H + h)·T·D.
template <typename Weight>
std::vector<double> normalised_quadratic_form(const problem& p, const std::vector<float>& v, Weight&& weight) {
  const int t = p.seq_len, d = p.head_dim;
  std::vector<double> out(p.qkv_elements(), 0.0);
  for (int bh = 0; bh < p.batch * p.heads; ++bh) {
    const std::size_t base = std::size_t(bh) * t * d;
    for (int i = 0; i < t; ++i) {
      const int n = p.causal ? i + 1 : t;
      std::vector<double> w(n, 0.0);
      double den = 0;
      for (int j = 0; j < n; ++j) {
        w[j] = weight(base, i, j);
        den += w[j];
      }
      for (int j = 0; j < n; ++j)
        for (int c = 0; c < d; ++c) out[base + i * d + c] += w[j] / std::max(den, 1e-6) * v[base + j * d + c];
    }
  }
  return out;
}

/// Keys of CSR support row r.
inline std::vector<int> support_row(const attention_support& s, std::size_t r) {
  return {s.cols.begin() + s.row_ptr[r], s.cols.begin() + s.row_ptr[r + 1]};
}

/// The registered variant `name` (a test failure when there is none).
inline const attention_variant& find_variant(const std::string& name) {
  const auto* v = variant_registry::instance().find(name);
  REQUIRE(v != nullptr);
  return *v;
}

struct run_result {
  std::vector<float> out;
  attention_support support;  ///< filled when run with the support requested
  std::map<std::string, double> extras;
  double peak = 0;      ///< tracked peak bytes during run(), the output included
  double analytic = 0;  ///< the variant's analytic_memory_bytes
};

/// Run variant `name` as the harness does: resolve `given`, require the case to be supported,
/// instantiate (untimed), reset the tracked peak, allocate the output through the tracker and run once,
/// with ctx.support set when `with_support`.
inline run_result run_variant(const std::string& name, const problem& p, const overrides& given, qkv_view in,
                              bool with_support = false) {
  const attention_variant& var = find_variant(name);
  const param_set ps = var.parameters().resolve("test", given);
  REQUIRE_FALSE(unsupported_reason(var, p, ps, device_kind::cpu).has_value());
  auto inst = var.instantiate(p, ps, device_kind::cpu);
  auto& mt = memory_tracker::instance();
  const std::size_t before = mt.current_bytes();
  mt.reset_peak();
  run_result r;
  {
    tracked_buffer<float> out(p.qkv_elements());
    run_context ctx;
    if (with_support) ctx.support = &r.support;
    inst->run(in, out.data(), ctx);
    r.out.assign(out.data(), out.data() + out.size());
    r.extras = ctx.extras;
  }
  r.peak = double(mt.peak_bytes() - before);
  r.analytic = double(var.analytic_memory_bytes(p, ps));
  return r;
}

/// run_variant on separate Q, K, V tensors, without the support.
inline run_result run_variant(const std::string& name, const problem& p, const overrides& given,
                              const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v) {
  return run_variant(name, p, given, qkv_view{q.data(), k.data(), v.data()});
}

}  // namespace sb::variant_test
