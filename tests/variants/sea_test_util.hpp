// Helpers shared by the SEA tests: seeded inputs, a naive fp64 attention, and running the variant.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attention_variants/sea/pipeline.hpp"
#include "attention_variants/sea/sea_config.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"

namespace sb::sea_test {

struct inputs {
  std::vector<float> q, k, v;
  [[nodiscard]] qkv_view view() const { return {q.data(), k.data(), v.data()}; }
};

inline inputs random_inputs(const problem& p, std::uint64_t seed, double q_scale = 1.0) {
  inputs in;
  const std::pair<std::vector<float>*, std::uint64_t> bufs[] = {
      {&in.q, rng_stream::dataset_q}, {&in.k, rng_stream::dataset_k}, {&in.v, rng_stream::dataset_v}};
  for (auto [buf, stream] : bufs) {
    counter_rng rng(seed, stream);
    buf->resize(p.qkv_elements());
    for (auto& x : *buf) x = static_cast<float>(rng.normal() * (buf == &in.q ? q_scale : 1.0));
  }
  return in;
}

inline problem make_problem(int t, bool causal, int k, int heads = 2, int d = 16, int batch = 1) {
  problem p;
  p.batch = batch;
  p.heads = heads;
  p.seq_len = t;
  p.head_dim = d;
  p.causal = causal;
  p.k = k;
  return p;
}

/// Exact softmax attention in fp64, [B, H, T, D].
inline std::vector<double> exact_attention(const problem& p, const inputs& in) {
  const int T = p.seq_len, d = p.head_dim;
  std::vector<double> out(p.qkv_elements(), 0.0);
  std::vector<double> s(static_cast<std::size_t>(T));
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch) * p.heads; ++bh)
    for (int i = 0; i < T; ++i) {
      const int L = p.causal ? i + 1 : T;
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < L; ++j) {
        double dot = 0;
        for (int c = 0; c < d; ++c) dot += double(in.q[(bh * T + i) * d + c]) * in.k[(bh * T + j) * d + c];
        s[j] = dot / std::sqrt(double(d));
        mx = std::max(mx, s[j]);
      }
      for (int j = 0; j < L; ++j) sum += (s[j] = std::exp(s[j] - mx));
      for (int j = 0; j < L; ++j)
        for (int c = 0; c < d; ++c) out[(bh * T + i) * d + c] += s[j] / sum * in.v[(bh * T + j) * d + c];
    }
  return out;
}

inline double rel_err(const std::vector<float>& a, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - ref[i]) * (a[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

/// The variant's parameter set with overrides.
inline param_set params_with(const std::map<std::string, param_value>& overrides) {
  return sea::parameter_schema().resolve("sea test", overrides);
}

struct run_result {
  std::vector<float> out;
  run_context ctx;
  attention_support support;
  std::size_t tracked_peak = 0;
};

inline run_result run_sea(const problem& p, const param_set& params, const inputs& in, bool want_support = false) {
  run_result r;
  sea::pipeline pipe(p, sea::make_config(p, params));
  auto& tracker = memory_tracker::instance();
  const std::size_t before = tracker.current_bytes();
  tracker.reset_peak();
  {
    tracked_buffer<float> out(p.qkv_elements());
    if (want_support) r.ctx.support = &r.support;
    pipe.run(in.view(), out.data(), r.ctx);
    r.tracked_peak = tracker.peak_bytes() - before;
    r.out.assign(out.data(), out.data() + out.size());
  }
  r.ctx.support = nullptr;
  return r;
}

}  // namespace sb::sea_test
