// Shared by the [gpu] tests of the sparse baselines on CUDA (window, bigbird, sinkhorn, reformer, the
// two oracles): run one case on both devices and compare
//   * fp32: output within 1e-4 (relative Frobenius) of the CPU variant, and the support the same,
//     row for row, when the variant exposes one;
//   * fp16 / bf16: output against the CPU run on the inputs rounded to that type (what the device
//     saw; the device widens to fp32 and rounds only its output): fp16 5e-3, bf16 2e-2 (baselines.md
//     §14's tolerances);
//   * causal: changing every key and value after a cut leaves rows ≤ cut unchanged on the device
//     (the causal canary), while the output as a whole does change (so the check can fail).
#pragma once

#include "tests/device/gpu_test_support.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#ifdef SEABENCH_HAVE_CUDA
#include "harness/cuda/dtype_codec.hpp"

namespace sb::test::sparse_cuda {

struct shape {
  int b, h, t, d;
};

inline param_set resolve(const attention_variant& v, const std::map<std::string, param_value>& given) {
  return v.parameters().resolve(std::string(v.name()), given);
}

struct cpu_result {
  std::vector<float> out;
  attention_support support;
};

inline cpu_result cpu_with_support(const attention_variant& v, const problem& p, const param_set& params,
                                   const std::vector<float>& q, const std::vector<float>& k,
                                   const std::vector<float>& vv) {
  problem p32 = p;
  p32.type = dtype::fp32;
  auto instance = v.instantiate(p32, params, device_kind::cpu);
  cpu_result r;
  r.out.resize(p.qkv_elements());
  run_context ctx;
  ctx.support = &r.support;
  instance->run({q.data(), k.data(), vv.data()}, r.out.data(), ctx);
  return r;
}

/// Number of rows whose key sets differ between two supports (-1 when the row counts differ).
inline long long differing_rows(const attention_support& a, const attention_support& b) {
  if (a.rows() != b.rows()) return -1;
  long long n = 0;
  for (std::size_t r = 0; r < a.rows(); ++r) {
    std::vector<std::int32_t> x(a.cols.begin() + a.row_ptr[r], a.cols.begin() + a.row_ptr[r + 1]);
    std::vector<std::int32_t> y(b.cols.begin() + b.row_ptr[r], b.cols.begin() + b.row_ptr[r + 1]);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    n += x != y;
  }
  return n;
}

/// fp32 on given inputs: output within 1e-4 of the CPU and (when exposed) the same support.
inline void check_fp32_on(const attention_variant& v, problem p, const param_set& params, const std::vector<float>& q,
                          const std::vector<float>& k, const std::vector<float>& vv) {
  cuda::context::instance().set_allow_tf32(false);
  p.type = dtype::fp32;
  INFO(v.name() << " " << params.canonical() << " B=" << p.batch << " H=" << p.heads << " T=" << p.seq_len
                << " D=" << p.head_dim << " k=" << p.k.value_or(0) << " causal=" << p.causal);
  const cpu_result cpu = cpu_with_support(v, p, params, q, k, vv);
  attention_support gpu_support;
  run_context ctx;
  ctx.support = &gpu_support;
  const auto gpu = run_on_cuda(v, p, params, q, k, vv, &ctx);
  CHECK(rel_fro(gpu, cpu.out) <= 1e-4);
  if (v.caps().exposes_support) {
    REQUIRE(gpu_support.rows() == p.rows());
    CHECK(differing_rows(gpu_support, cpu.support) == 0);
  }
}

/// check_fp32_on with N(0, 1) inputs from data_seed.
inline void check_fp32(const attention_variant& v, const problem& p, const param_set& params,
                       std::uint64_t data_seed) {
  check_fp32_on(v, p, params, normal_tensor(p.qkv_elements(), data_seed, 1),
                normal_tensor(p.qkv_elements(), data_seed, 2), normal_tensor(p.qkv_elements(), data_seed, 3));
}

/// A problem of the given shape.
inline problem make_problem(const shape& s, bool causal, std::optional<int> k, std::uint64_t seed = 7) {
  problem p;
  p.batch = s.b;
  p.heads = s.h;
  p.seq_len = s.t;
  p.head_dim = s.d;
  p.causal = causal;
  p.k = k;
  p.seed = seed;
  return p;
}

/// fp16 and bf16 against the CPU on the rounded inputs.
inline void check_half_types(const attention_variant& v, problem p, const param_set& params,
                             std::uint64_t data_seed) {
  const auto q = normal_tensor(p.qkv_elements(), data_seed, 1), k = normal_tensor(p.qkv_elements(), data_seed, 2),
             vv = normal_tensor(p.qkv_elements(), data_seed, 3);
  for (dtype type : {dtype::fp16, dtype::bf16}) {
    p.type = type;
    INFO(v.name() << " " << params.canonical() << " " << to_string(type) << " T=" << p.seq_len
                  << " causal=" << p.causal);
    const cpu_result cpu = cpu_with_support(v, p, params, cuda::round_through(type, q), cuda::round_through(type, k),
                                            cuda::round_through(type, vv));
    const auto gpu = run_on_cuda(v, p, params, q, k, vv);
    CHECK(rel_fro(gpu, cpu.out) <= (type == dtype::fp16 ? 5e-3 : 2e-2));
  }
}

/// Causal canary on the device: keys and values after `cut` changed, rows ≤ cut identical.
inline void check_causal_canary(const attention_variant& v, problem p, const param_set& params,
                                std::uint64_t data_seed) {
  p.causal = true;
  p.type = dtype::fp32;
  const auto q = normal_tensor(p.qkv_elements(), data_seed, 1), k = normal_tensor(p.qkv_elements(), data_seed, 2),
             vv = normal_tensor(p.qkv_elements(), data_seed, 3);
  const auto a = run_on_cuda(v, p, params, q, k, vv);
  const std::size_t heads = static_cast<std::size_t>(p.batch) * p.heads;
  for (int cut : {0, p.seq_len / 3, p.seq_len - 2}) {
    auto k2 = k, v2 = vv;
    for (std::size_t bh = 0; bh < heads; ++bh)
      for (int j = cut + 1; j < p.seq_len; ++j)
        for (int x = 0; x < p.head_dim; ++x) {
          const std::size_t e = (bh * p.seq_len + j) * p.head_dim + x;
          k2[e] = 3.0f * k[e] + 1.0f;
          v2[e] = -v2[e] + 0.5f;
        }
    const auto b = run_on_cuda(v, p, params, q, k2, v2);
    long long changed_early = 0;
    for (std::size_t bh = 0; bh < heads; ++bh)
      for (int i = 0; i <= cut; ++i)
        for (int x = 0; x < p.head_dim; ++x) {
          const std::size_t e = (bh * p.seq_len + i) * p.head_dim + x;
          changed_early += a[e] != b[e];
        }
    INFO(v.name() << " " << params.canonical() << " cut=" << cut);
    CHECK(changed_early == 0);
    CHECK(rel_fro(b, a) > 1e-3);  // the later rows did change: the canary can fail
  }
}

}  // namespace sb::test::sparse_cuda
#endif  // SEABENCH_HAVE_CUDA
