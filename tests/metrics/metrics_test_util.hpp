// Helpers shared by the metrics tests: the small hand-computable problem and seeded random inputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "harness/core/rng.hpp"
#include "harness/core/types.hpp"

namespace sb::metrics_test {

/// B = H = 1, T = 3, D = 2, every query q = (√2·ln2, 0), keys k_j = (j, 0), values v0 = (7, 0),
/// v1 = (0, 7), v2 = (7, 7). With τ = 1/√2 the scores are τ·q·k_j = j·ln2, so exp(scores) = 1, 2, 4:
///   non-causal, every row: P = (1/7, 2/7, 4/7), o = (1 + 4, 2 + 4) = (5, 6), lse = ln 7;
///   causal row 0: P = (1), o = (7, 0), lse = 0; row 1: P = (1/3, 2/3), o = (7/3, 14/3), lse = ln 3.
struct hand_problem {
  problem p;
  std::vector<float> q, k, v;
  explicit hand_problem(bool causal) {
    p.batch = 1;
    p.heads = 1;
    p.seq_len = 3;
    p.head_dim = 2;
    p.causal = causal;
    const auto a = static_cast<float>(std::numbers::sqrt2 * std::numbers::ln2);
    q = {a, 0, a, 0, a, 0};
    k = {0, 0, 1, 0, 2, 0};
    v = {7, 0, 0, 7, 7, 7};
  }
};

/// Standard-normal fp32 values, a pure function of (seed, stream).
inline std::vector<float> normal_values(std::size_t n, std::uint64_t seed, std::uint64_t stream, double scale = 1.0) {
  counter_rng rng(seed, stream);
  std::vector<float> x(n);
  for (auto& e : x) e = static_cast<float>(scale * rng.normal());
  return x;
}

/// Naive exact attention for one row in long double, no max subtraction (inputs are kept small).
inline std::vector<long double> naive_row(const problem& p, const float* q, const float* k, const float* v,
                                          std::int64_t r, long double* lse_out = nullptr) {
  const std::int64_t t = p.seq_len, d = p.head_dim, bh = r / t, i = r % t;
  const std::int64_t visible = p.causal ? i + 1 : t;
  std::vector<long double> w(static_cast<std::size_t>(visible));
  long double sum = 0;
  for (std::int64_t j = 0; j < visible; ++j) {
    long double s = 0;
    for (std::int64_t x = 0; x < d; ++x) s += static_cast<long double>(q[r * d + x]) * k[(bh * t + j) * d + x];
    w[static_cast<std::size_t>(j)] = std::exp(s / std::sqrt(static_cast<long double>(d)));
    sum += w[static_cast<std::size_t>(j)];
  }
  std::vector<long double> o(static_cast<std::size_t>(d), 0.0L);
  for (std::int64_t j = 0; j < visible; ++j)
    for (std::int64_t x = 0; x < d; ++x) o[static_cast<std::size_t>(x)] += w[static_cast<std::size_t>(j)] * v[(bh * t + j) * d + x];
  for (auto& e : o) e /= sum;
  if (lse_out) *lse_out = std::log(sum);
  return o;
}

}  // namespace sb::metrics_test
