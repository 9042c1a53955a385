// linear (elu+1 linear attention, baselines.md §3): the variant equals the row-normalised quadratic
// form of its features (masked when causal), causal rows ignore later tokens, permutation equivariance,
// memory model.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/linear/linear_features.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "tests/variants/variant_test_util.hpp"

namespace {

using namespace sb;

using variant_test::rel_err;
using variant_test::run_variant;

std::vector<float> gaussian(std::size_t n, std::uint64_t seed, double sigma = 1.0) {
  return variant_test::random_tensor(n, seed, 98, sigma);
}

/// fp64 Σ_j w_ij v_j / Σ_j w_ij with w_ij = φ(q_i)·φ(k_j) materialised, masked to j ≤ i when causal.
std::vector<double> quadratic_form(const problem& p, linear_features::kind kind, const std::vector<float>& q,
                                   const std::vector<float>& k, const std::vector<float>& v) {
  const int d = p.head_dim;
  return variant_test::normalised_quadratic_form(p, v, [&](std::size_t base, int i, int j) {
    double w = 0;
    for (int c = 0; c < d; ++c)
      w += double(linear_features::phi(kind, q[base + i * d + c])) * linear_features::phi(kind, k[base + j * d + c]);
    return w;
  });
}

}  // namespace

TEST_CASE("linear: feature maps", "[linear]") {
  using linear_features::kind;
  CHECK(linear_features::phi(kind::elu, 2.0f) == 3.0f);
  CHECK(linear_features::phi(kind::elu, 0.0f) == 1.0f);
  CHECK(linear_features::phi(kind::elu, -1.0f) == Approx(std::exp(-1.0)));
  CHECK(linear_features::phi(kind::relu, -1.0f) == Approx(1e-3));
  CHECK(linear_features::phi(kind::relu, 0.5f) == Approx(0.501));
}

TEST_CASE("linear: output equals the (masked) quadratic form of φ(q)·φ(k) (P2, P10)", "[linear]") {
  problem p{.batch = 2, .heads = 2, .seq_len = 77, .head_dim = 16};
  const auto q = gaussian(p.qkv_elements(), 1), k = gaussian(p.qkv_elements(), 2), v = gaussian(p.qkv_elements(), 3);
  for (bool causal : {false, true})
    for (const char* feat : {"elu", "relu"})
      for (std::int64_t chunk : {5, 64}) {
        p.causal = causal;
        const auto kind = std::string(feat) == "relu" ? linear_features::kind::relu : linear_features::kind::elu;
        const auto r = run_variant("linear", p, {{"feature", std::string(feat)}, {"chunk", chunk}}, q, k, v);
        INFO("causal " << causal << " feature " << feat << " chunk " << chunk);
        CHECK(rel_err(r.out, quadratic_form(p, kind, q, k, v)) < 1e-5);
        CHECK(std::abs(r.peak - r.analytic) <= 0.1 * r.analytic);
      }
}

TEST_CASE("linear: causal rows ignore later keys and values", "[linear]") {
  problem p{.batch = 1, .heads = 2, .seq_len = 100, .head_dim = 8, .causal = true};
  const int t = p.seq_len, d = p.head_dim, cut = 41;
  const auto q = gaussian(p.qkv_elements(), 4), k = gaussian(p.qkv_elements(), 5), v = gaussian(p.qkv_elements(), 6);
  auto k2 = k, v2 = v;
  for (int h = 0; h < p.heads; ++h)
    for (int j = cut + 1; j < t; ++j)
      for (int c = 0; c < d; ++c) {
        k2[(h * t + j) * d + c] += 4.0f;
        v2[(h * t + j) * d + c] *= -3.0f;
      }
  const auto a = run_variant("linear", p, {{"chunk", std::int64_t{16}}}, q, k, v).out;
  const auto b = run_variant("linear", p, {{"chunk", std::int64_t{16}}}, q, k2, v2).out;
  bool later_changed = false;
  for (int h = 0; h < p.heads; ++h)
    for (int i = 0; i < t; ++i)
      for (int c = 0; c < d; ++c) {
        const std::size_t x = (h * t + i) * d + c;
        if (i <= cut) REQUIRE(a[x] == b[x]);
        else later_changed |= a[x] != b[x];
      }
  CHECK(later_changed);
}

TEST_CASE("linear: non-causal output is permutation equivariant (P8)", "[linear]") {
  problem p{.batch = 1, .heads = 1, .seq_len = 50, .head_dim = 8};
  const int t = p.seq_len, d = p.head_dim;
  const auto q = gaussian(p.qkv_elements(), 7), k = gaussian(p.qkv_elements(), 8), v = gaussian(p.qkv_elements(), 9);
  std::vector<int> perm(t);
  std::iota(perm.begin(), perm.end(), 0);
  std::reverse(perm.begin(), perm.end());
  std::swap(perm[3], perm[30]);
  auto permute = [&](const std::vector<float>& x) {
    std::vector<float> y(x.size());
    for (int i = 0; i < t; ++i) std::copy_n(x.begin() + perm[i] * d, d, y.begin() + i * d);
    return y;
  };
  const auto base = run_variant("linear", p, {}, q, k, v).out;
  const auto kv = run_variant("linear", p, {}, q, permute(k), permute(v)).out;
  const auto pq = run_variant("linear", p, {}, permute(q), k, v).out;
  const auto pb = permute(base);
  for (std::size_t i = 0; i < base.size(); ++i) {
    CHECK(kv[i] == Approx(base[i]).epsilon(1e-5).margin(1e-6));
    CHECK(pq[i] == Approx(pb[i]).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("linear: registration, determinism and FLOPs", "[linear]") {
  const attention_variant* var = variant_registry::instance().find("linear");
  REQUIRE(var != nullptr);
  CHECK_FALSE(var->caps().randomized);
  CHECK(var->caps().uses_k == k_usage::none);
  problem p{.batch = 1, .heads = 2, .seq_len = 64, .head_dim = 16, .seed = 1};
  const auto q = gaussian(p.qkv_elements(), 10), k = gaussian(p.qkv_elements(), 11), v = gaussian(p.qkv_elements(), 12);
  const auto a = run_variant("linear", p, {}, q, k, v).out;
  p.seed = 2;
  CHECK(run_variant("linear", p, {}, q, k, v).out == a);  // no random parts
  const param_set ps = var->parameters().resolve("test", {});
  p.seq_len = 4096;
  const double per_head = var->flops(p, ps).executed / (p.batch * p.heads);
  const double model = 4.0 * p.seq_len * p.head_dim * p.head_dim;  // baselines.md §12: ≈ 4·N·D·Dv
  CHECK(per_head == Approx(model).epsilon(0.15));
}
