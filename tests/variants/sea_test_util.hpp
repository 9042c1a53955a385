// Helpers shared by the SEA tests: seeded inputs and running the variant (the fp64 attention and the
// relative error are variant_test_util.hpp's).
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
#include "tests/variants/variant_test_util.hpp"

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
  return variant_test::exact_attention(p, in.q, in.k, in.v);
}

using variant_test::rel_err;

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
