// Naive fp64 formulas for testing the sparse variants (header-only; used by tests, not by variants):
// random inputs, exact scores and probabilities of one row, attention over an explicit key set, dense
// attention, and a helper that runs a registered variant the way the harness does.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/core/memory_tracker.hpp"
#include "harness/core/params.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"

namespace sb::sparse::naive {

struct inputs {
  problem p;
  std::vector<float> q, k, v;
  [[nodiscard]] qkv_view view() const { return {q.data(), k.data(), v.data()}; }
  [[nodiscard]] std::size_t at(std::size_t bh, int i) const {
    return (bh * p.seq_len + static_cast<std::size_t>(i)) * p.head_dim;
  }
};

/// q, k, v ~ N(0, 1) (q multiplied by q_scale) from counter_rng(seed, 1000 + tensor).
inline inputs random_inputs(const problem& p, std::uint64_t seed, double q_scale = 1.0) {
  inputs in{p, {}, {}, {}};
  const std::size_t n = p.qkv_elements();
  std::vector<float>* tensors[3] = {&in.q, &in.k, &in.v};
  for (int t = 0; t < 3; ++t) {
    counter_rng rng(seed, 1000 + t);
    tensors[t]->resize(n);
    for (auto& x : *tensors[t]) x = static_cast<float>(rng.normal() * (t == 0 ? q_scale : 1.0));
  }
  return in;
}

/// Number of keys query i may see.
inline int visible(const problem& p, int i) { return p.causal ? i + 1 : p.seq_len; }

/// fp64 scores τ·q_i·k_j for j < visible(i) in head bh.
inline std::vector<double> scores_row(const inputs& in, std::size_t bh, int i) {
  const int d = in.p.head_dim;
  std::vector<double> s(visible(in.p, i));
  for (int j = 0; j < static_cast<int>(s.size()); ++j) {
    double acc = 0;
    for (int c = 0; c < d; ++c) acc += static_cast<double>(in.q[in.at(bh, i) + c]) * in.k[in.at(bh, j) + c];
    s[j] = acc * in.p.scale();
  }
  return s;
}

/// fp64 softmax probabilities over the visible keys of row (bh, i).
inline std::vector<double> probs_row(const inputs& in, std::size_t bh, int i) {
  std::vector<double> s = scores_row(in, bh, i);
  const double mx = *std::max_element(s.begin(), s.end());
  double sum = 0;
  for (double& x : s) sum += (x = std::exp(x - mx));
  for (double& x : s) x /= sum;
  return s;
}

/// fp64 softmax attention of row (bh, i) restricted to `keys` (0 for an empty set).
inline std::vector<double> attend_keys(const inputs& in, std::size_t bh, int i, const std::vector<std::int32_t>& keys) {
  const int d = in.p.head_dim;
  std::vector<double> o(d, 0.0);
  if (keys.empty()) return o;
  // Score every listed key, even a future one, so that a wrong support shows up in the output.
  std::vector<double> all(keys.size());
  for (std::size_t e = 0; e < keys.size(); ++e) {
    double acc = 0;
    for (int c = 0; c < d; ++c) acc += static_cast<double>(in.q[in.at(bh, i) + c]) * in.k[in.at(bh, keys[e]) + c];
    all[e] = acc * in.p.scale();
  }
  const double mx = *std::max_element(all.begin(), all.end());
  double sum = 0;
  for (std::size_t e = 0; e < keys.size(); ++e) {
    const double w = std::exp(all[e] - mx);
    sum += w;
    for (int c = 0; c < d; ++c) o[c] += w * in.v[in.at(bh, keys[e]) + c];
  }
  for (double& x : o) x /= sum;
  return o;
}

/// fp64 attention of every row over the CSR support `s` (rows r = bh·T + i).
inline std::vector<double> attend_support(const inputs& in, const attention_support& s) {
  const int t = in.p.seq_len;
  std::vector<double> out(in.p.qkv_elements());
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(in.p.batch) * in.p.heads; ++bh)
    for (int i = 0; i < t; ++i) {
      const std::size_t r = bh * t + i;
      const std::vector<std::int32_t> keys(s.cols.begin() + s.row_ptr[r], s.cols.begin() + s.row_ptr[r + 1]);
      const std::vector<double> o = attend_keys(in, bh, i, keys);
      std::copy(o.begin(), o.end(), out.begin() + in.at(bh, i));
    }
  return out;
}

/// fp64 dense softmax attention (causal mask when p.causal).
inline std::vector<double> dense(const inputs& in) {
  const int t = in.p.seq_len;
  attention_support all;
  all.row_ptr.assign(1, 0);
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(in.p.batch) * in.p.heads; ++bh)
    for (int i = 0; i < t; ++i) {
      for (int j = 0; j < visible(in.p, i); ++j) all.cols.push_back(j);
      all.row_ptr.push_back(static_cast<std::int64_t>(all.cols.size()));
    }
  return attend_support(in, all);
}

/// ‖a − ref‖ / ‖ref‖ (Frobenius).
inline double rel_err(const std::vector<float>& a, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t e = 0; e < ref.size(); ++e) {
    num += (a[e] - ref[e]) * (a[e] - ref[e]);
    den += ref[e] * ref[e];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

/// Keys of support row r.
inline std::vector<std::int32_t> row_keys(const attention_support& s, std::size_t r) {
  return {s.cols.begin() + s.row_ptr[r], s.cols.begin() + s.row_ptr[r + 1]};
}

struct run_result {
  std::vector<float> out;
  attention_support support;
  std::map<std::string, double> extras;
  std::size_t peak_bytes = 0;     ///< tracked peak during run(), output included
  std::size_t analytic_bytes = 0; ///< the variant's model
  flop_count flops;
};

/// Run a registered variant as the harness does: resolve params, instantiate (untimed), allocate the
/// output through the tracker after resetting the peak, run once with the support requested.
inline run_result run_variant(const std::string& name, const inputs& in,
                              const std::map<std::string, param_value>& given = {}, bool want_support = true) {
  const attention_variant* v = variant_registry::instance().find(name);
  if (!v) throw std::runtime_error("no variant " + name);
  const param_set params = v->parameters().resolve("test", given);
  if (auto why = unsupported_reason(*v, in.p, params, device_kind::cpu)) throw std::runtime_error(*why);
  auto inst = v->instantiate(in.p, params, device_kind::cpu);
  run_result r;
  r.analytic_bytes = v->analytic_memory_bytes(in.p, params);
  r.flops = v->flops(in.p, params);
  auto& tracker = memory_tracker::instance();
  tracker.reset_peak();
  const std::size_t before = tracker.current_bytes();
  {
    tracked_buffer<float> out(in.p.qkv_elements());
    run_context ctx;
    ctx.support = want_support ? &r.support : nullptr;
    inst->run(in.view(), out.data(), ctx);
    r.out.assign(out.data(), out.data() + out.size());
    r.extras = ctx.extras;
  }
  r.peak_bytes = tracker.peak_bytes() - before;
  return r;
}

}  // namespace sb::sparse::naive
