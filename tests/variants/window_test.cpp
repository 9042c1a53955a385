// window: exact index sets (causal and non-causal, even and odd k, clipping), global tokens, the
// dense limit and its tightness, the output against fp64 attention over the support, the causal
// canary, and the FLOP count.
#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/sparse_common/naive_reference.hpp"

using namespace sb;
namespace naive = sb::sparse::naive;

namespace {

std::vector<std::int32_t> range(int lo, int hi) {  // [lo, hi]
  std::vector<std::int32_t> r;
  for (int j = lo; j <= hi; ++j) r.push_back(j);
  return r;
}

naive::run_result run_window(int t, int k, bool causal, int global = 0, int batch = 1, int heads = 1, int d = 8,
                             std::uint64_t seed = 1) {
  problem p{.batch = batch, .heads = heads, .seq_len = t, .head_dim = d, .causal = causal, .k = k};
  return naive::run_variant("window", naive::random_inputs(p, seed), {{"global_tokens", std::int64_t{global}}});
}

}  // namespace

TEST_CASE("window: hand-worked index sets", "[window]") {
  SECTION("causal k=3, T=6: keys i-2..i") {
    const auto r = run_window(6, 3, true);
    CHECK(naive::row_keys(r.support, 0) == range(0, 0));
    CHECK(naive::row_keys(r.support, 1) == range(0, 1));
    CHECK(naive::row_keys(r.support, 4) == range(2, 4));
  }
  SECTION("non-causal k=4 (even): 1 left, 2 right") {
    const auto r = run_window(10, 4, false);
    CHECK(naive::row_keys(r.support, 5) == range(4, 7));
    CHECK(naive::row_keys(r.support, 0) == range(0, 2));
    CHECK(naive::row_keys(r.support, 9) == range(8, 9));
  }
  SECTION("non-causal k=5 (odd): 2 left, 2 right") {
    const auto r = run_window(10, 5, false);
    CHECK(naive::row_keys(r.support, 5) == range(3, 7));
    CHECK(naive::row_keys(r.support, 1) == range(0, 3));
  }
  SECTION("k=1 is the diagonal") {
    for (bool causal : {false, true}) {
      const auto r = run_window(5, 1, causal);
      for (int i = 0; i < 5; ++i) CHECK(naive::row_keys(r.support, i) == range(i, i));
    }
  }
}

TEST_CASE("window: index sets follow the spec for every k, B and H", "[window]") {
  const int t = 13;
  for (bool causal : {false, true})
    for (int k = 1; k <= 2 * t + 1; ++k) {
      const auto r = run_window(t, k, causal, 0, 2, 2);
      const int left = causal ? k - 1 : (k - 1) / 2;
      const int right = causal ? 0 : k - 1 - (k - 1) / 2;  // ceil((k-1)/2)
      for (std::size_t bh = 0; bh < 4; ++bh)
        for (int i = 0; i < t; ++i) {
          INFO("causal=" << causal << " k=" << k << " i=" << i);
          CHECK(naive::row_keys(r.support, bh * t + i) == range(std::max(0, i - left), std::min(t - 1, i + right)));
        }
    }
}

TEST_CASE("window: global tokens attend everything and are attended by everyone", "[window]") {
  const int t = 20, g = 3, k = 4;
  for (bool causal : {false, true}) {
    const auto r = run_window(t, k, causal, g);
    for (int i = 0; i < t; ++i) {
      std::vector<std::int32_t> want;
      if (i < g) {
        want = range(0, causal ? i : t - 1);
      } else {
        const int lo = std::max(0, causal ? i - k + 1 : i - (k - 1) / 2);
        const int hi = causal ? i : std::min(t - 1, i + k / 2);
        for (int j = 0; j < t; ++j)
          if (j < g || (j >= lo && j <= hi)) want.push_back(j);
      }
      INFO("causal=" << causal << " i=" << i);
      CHECK(naive::row_keys(r.support, i) == want);
    }
  }
}

TEST_CASE("window: global rows equal dense rows", "[window]") {
  problem p{.batch = 1, .heads = 2, .seq_len = 30, .head_dim = 16, .causal = false, .k = 3};
  const naive::inputs in = naive::random_inputs(p, 8);
  const auto r = naive::run_variant("window", in, {{"global_tokens", std::int64_t{4}}});
  const std::vector<double> dense = naive::dense(in);
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int i = 0; i < 4; ++i)
      for (int c = 0; c < p.head_dim; ++c) CHECK(r.out[in.at(bh, i) + c] == Approx(dense[in.at(bh, i) + c]).margin(1e-5));
}

TEST_CASE("window: output is softmax attention over the support (fp64 check)", "[window]") {
  for (bool causal : {false, true})
    for (int g : {0, 2}) {
      problem p{.batch = 2, .heads = 3, .seq_len = 37, .head_dim = 32, .causal = causal, .k = 6};
      const naive::inputs in = naive::random_inputs(p, 12, 3.0);
      const auto r = naive::run_variant("window", in, {{"global_tokens", std::int64_t{g}}});
      CHECK(naive::rel_err(r.out, naive::attend_support(in, r.support)) < 1e-5);
      CHECK(naive::rel_err(r.out, naive::dense(in)) > 1e-2);  // the window really drops mass
    }
}

TEST_CASE("window: the exact setting is dense, and it is tight", "[window]") {
  const attention_variant* v = variant_registry::instance().find("window");
  REQUIRE(v);
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 21, .head_dim = 16, .causal = causal};
    const auto exact = v->exact_setting(p);
    REQUIRE(exact);
    REQUIRE(exact->k);
    CHECK(*exact->k == (causal ? 21 : 41));
    p.k = exact->k;
    const naive::inputs in = naive::random_inputs(p, 2);
    CHECK(naive::rel_err(naive::run_variant("window", in).out, naive::dense(in)) < 1e-5);
    p.k = *exact->k - 1;  // one less misses a key in some row
    const naive::inputs in2 = naive::random_inputs(p, 2);
    CHECK(naive::rel_err(naive::run_variant("window", in2).out, naive::dense(in2)) > 1e-4);
  }
}

TEST_CASE("window: budget ladder is increasing and the error falls along it", "[window]") {
  const attention_variant* v = variant_registry::instance().find("window");
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 64, .head_dim = 16, .causal = causal};
    const auto ladder = v->budget_ladder(p);
    REQUIRE(ladder.size() >= 3);
    double prev = 1e9;
    int prev_k = 0;
    for (const auto& step : ladder) {
      REQUIRE(step.k);
      CHECK(*step.k > prev_k);
      prev_k = *step.k;
      p.k = step.k;
      const naive::inputs in = naive::random_inputs(p, 6);
      const double err = naive::rel_err(naive::run_variant("window", in, step.params).out, naive::dense(in));
      CHECK(err < prev);
      prev = err;
    }
    CHECK(prev < 1e-5);
  }
}

TEST_CASE("window: causal canary, future keys and values never change a row (bitwise)", "[window]") {
  problem p{.batch = 1, .heads = 2, .seq_len = 40, .head_dim = 8, .causal = true, .k = 7};
  const naive::inputs in = naive::random_inputs(p, 31);
  const auto base = naive::run_variant("window", in, {{"global_tokens", std::int64_t{2}}}, false);
  const int cut = 17;
  naive::inputs changed = in;
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int j = cut + 1; j < p.seq_len; ++j)
      for (int c = 0; c < p.head_dim; ++c) {
        changed.k[in.at(bh, j) + c] += 3.0f;
        changed.v[in.at(bh, j) + c] -= 5.0f;
      }
  const auto after = naive::run_variant("window", changed, {{"global_tokens", std::int64_t{2}}}, true);
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int i = 0; i <= cut; ++i) {
      for (int c = 0; c < p.head_dim; ++c) CHECK(base.out[in.at(bh, i) + c] == after.out[in.at(bh, i) + c]);
      for (std::int32_t j : naive::row_keys(after.support, bh * p.seq_len + i)) CHECK(j <= i);
    }
}

TEST_CASE("window: executed FLOPs count the attended pairs", "[window]") {
  const attention_variant* v = variant_registry::instance().find("window");
  const param_set params = v->parameters().resolve("test", {});
  problem p{.batch = 2, .heads = 3, .seq_len = 8, .head_dim = 16, .causal = true, .k = 3};
  // Causal rows see min(3, i+1) keys: 1 + 2 + 3·6 = 21 pairs per head.
  CHECK(v->flops(p, params).executed == Approx(2.0 * 21 * (2 * 16) * 6));
  CHECK(v->flops(p, params).dense_equiv == Approx(dense_equivalent_flops(p)));
  p.causal = false;  // k=3: one left, one right; the two end rows lose one → 8·3 − 2 = 22
  CHECK(v->flops(p, params).executed == Approx(2.0 * 22 * (2 * 16) * 6));
}

TEST_CASE("window: rejects k < 1", "[window]") {
  const attention_variant* v = variant_registry::instance().find("window");
  problem p{.batch = 1, .heads = 1, .seq_len = 8, .head_dim = 16, .k = 0};
  CHECK(unsupported_reason(*v, p, v->parameters().resolve("t", {}), device_kind::cpu));
}
