// cosformer (baselines.md §4): the feature decomposition, the official left == right product self-test,
// the variant against a naive O(T²) formula (masked when causal), causality and the memory model.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/cosformer/cosformer_features.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "tests/variants/variant_test_util.hpp"

namespace {

using namespace sb;

using variant_test::rel_err;
using variant_test::run_variant;

std::vector<float> gaussian(std::size_t n, std::uint64_t seed, double sigma = 1.0) {
  return variant_test::random_tensor(n, seed, 97, sigma);
}


/// The cosFormer definition computed directly: w_ij = ReLU(q_i)·ReLU(k_j)·cos(π/2·(i−j)/M), M = T,
/// o_i = Σ_j w_ij v_j / max(Σ_j w_ij, 1e-6), j ≤ i when causal. fp64.
std::vector<double> naive(const problem& p, const std::vector<float>& q, const std::vector<float>& k,
                          const std::vector<float>& v) {
  const int t = p.seq_len, d = p.head_dim;
  return variant_test::normalised_quadratic_form(p, v, [&](std::size_t base, int i, int j) {
    double dot = 0;
    for (int c = 0; c < d; ++c)
      dot += std::max(0.0, double(q[base + i * d + c])) * std::max(0.0, double(k[base + j * d + c]));
    return dot * std::cos(std::numbers::pi / 2 * (i - j) / t);
  });
}

}  // namespace

TEST_CASE("cosformer: φ(q_i)·φ(k_j) = ReLU(q_i)·ReLU(k_j)·cos(π/2·(i−j)/M)", "[cosformer]") {
  const int t = 40, d = 6;
  const auto q = gaussian(t * d, 1), k = gaussian(t * d, 2);
  std::vector<float> fq(t * 2 * d), fk(t * 2 * d);
  cosformer::features(q.data(), d, t, d, 0, t, fq.data());
  // Features of a block starting mid-sequence agree with the whole-sequence ones (positions carry over).
  cosformer::features(k.data(), d, 25, d, 0, t, fk.data());
  cosformer::features(k.data() + 25 * d, d, t - 25, d, 25, t, fk.data() + 25 * 2 * d);
  CHECK(cosformer::theta(t - 1, t) == Approx(std::numbers::pi / 2));  // θ_i = π/2·i/M for i = 1..T
  for (int i = 0; i < t; ++i)
    for (int j = 0; j < t; ++j) {
      double lhs = 0, rhs = 0;
      for (int c = 0; c < 2 * d; ++c) lhs += double(fq[i * 2 * d + c]) * fk[j * 2 * d + c];
      for (int c = 0; c < d; ++c) rhs += std::max(0.0f, q[i * d + c]) * double(std::max(0.0f, k[j * d + c]));
      rhs *= std::cos(std::numbers::pi / 2 * (i - j) / t);
      REQUIRE(lhs == Approx(rhs).epsilon(1e-5).margin(1e-6));
    }
}

TEST_CASE("cosformer: left (quadratic) product equals right (linear) product, the official self-test", "[cosformer]") {
  const int t = 30, d = 5;
  const auto q = gaussian(t * d, 3), k = gaussian(t * d, 4), v = gaussian(t * d, 5);
  std::vector<float> fq(t * 2 * d), fk(t * 2 * d);
  cosformer::features(q.data(), d, t, d, 0, t, fq.data());
  cosformer::features(k.data(), d, t, d, 0, t, fk.data());
  for (bool causal : {false, true}) {
    // left: (φQ·φKᵀ ⊙ mask)·V; right: φQ·(φKᵀ·V) with prefix sums when causal. Unnormalised, fp64.
    std::vector<double> left(t * d, 0.0), right(t * d, 0.0), state(2 * d * d, 0.0);
    for (int i = 0; i < t; ++i)
      for (int j = 0; j < (causal ? i + 1 : t); ++j) {
        double a = 0;
        for (int c = 0; c < 2 * d; ++c) a += double(fq[i * 2 * d + c]) * fk[j * 2 * d + c];
        for (int c = 0; c < d; ++c) left[i * d + c] += a * v[j * d + c];
      }
    if (!causal)
      for (int j = 0; j < t; ++j)
        for (int f = 0; f < 2 * d; ++f)
          for (int c = 0; c < d; ++c) state[f * d + c] += double(fk[j * 2 * d + f]) * v[j * d + c];
    for (int i = 0; i < t; ++i) {
      if (causal)
        for (int f = 0; f < 2 * d; ++f)
          for (int c = 0; c < d; ++c) state[f * d + c] += double(fk[i * 2 * d + f]) * v[i * d + c];
      for (int f = 0; f < 2 * d; ++f)
        for (int c = 0; c < d; ++c) right[i * d + c] += double(fq[i * 2 * d + f]) * state[f * d + c];
    }
    for (int x = 0; x < t * d; ++x) REQUIRE(left[x] == Approx(right[x]).epsilon(1e-9).margin(1e-9));
  }
}

TEST_CASE("cosformer: variant equals the naive O(T²) formula (P2, P10)", "[cosformer]") {
  problem p{.batch = 2, .heads = 2, .seq_len = 93, .head_dim = 16};
  const auto q = gaussian(p.qkv_elements(), 6), k = gaussian(p.qkv_elements(), 7), v = gaussian(p.qkv_elements(), 8);
  for (bool causal : {false, true})
    for (std::int64_t chunk : {1, 10, 64, 128}) {
      p.causal = causal;
      const auto r = run_variant("cosformer", p, {{"chunk", chunk}}, q, k, v);
      INFO("causal " << causal << " chunk " << chunk);
      CHECK(rel_err(r.out, naive(p, q, k, v)) < 1e-5);
      CHECK(std::abs(r.peak - r.analytic) <= 0.1 * r.analytic);
    }
}

TEST_CASE("cosformer: causal rows ignore later keys and values", "[cosformer]") {
  problem p{.batch = 1, .heads = 1, .seq_len = 120, .head_dim = 8, .causal = true};
  const int t = p.seq_len, d = p.head_dim, cut = 70;
  const auto q = gaussian(p.qkv_elements(), 9), k = gaussian(p.qkv_elements(), 10), v = gaussian(p.qkv_elements(), 11);
  auto k2 = k, v2 = v;
  for (int j = cut + 1; j < t; ++j)
    for (int c = 0; c < d; ++c) {
      k2[j * d + c] = std::abs(k2[j * d + c]) * 3.0f;
      v2[j * d + c] += 2.0f;
    }
  const auto a = run_variant("cosformer", p, {}, q, k, v).out, b = run_variant("cosformer", p, {}, q, k2, v2).out;
  for (int x = 0; x <= cut * d + d - 1; ++x) REQUIRE(a[x] == b[x]);
  CHECK(a != b);
}

TEST_CASE("cosformer: registration and FLOPs", "[cosformer]") {
  const attention_variant* var = variant_registry::instance().find("cosformer");
  REQUIRE(var != nullptr);
  CHECK_FALSE(var->caps().randomized);
  CHECK(var->caps().uses_k == k_usage::none);
  problem p{.batch = 1, .heads = 1, .seq_len = 4096, .head_dim = 64};
  const double per_head = var->flops(p, var->parameters().resolve("test", {})).executed;
  CHECK(per_head == Approx(8.0 * p.seq_len * p.head_dim * p.head_dim).epsilon(0.15));  // §12: ≈ 8·N·D·Dv
}
