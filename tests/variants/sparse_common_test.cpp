// Tests for the shared sparse-support kernels (attention_variants/sparse_common): the row kernel
// against fp64 formulas, empty rows, extreme logits, the top-k selection and its tie rule, and the
// memory models of every variant built on them against the tracked peak.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/sparse_common/naive_reference.hpp"
#include "attention_variants/sparse_common/sparse_attend.hpp"
#include "harness/core/rng.hpp"

using namespace sb;
namespace naive = sb::sparse::naive;

TEST_CASE("dot matches a plain sum for every length", "[sparse_common]") {
  counter_rng rng(3, 7);
  for (int d : {1, 3, 7, 8, 9, 16, 31, 64, 127}) {
    std::vector<float> a(d), b(d);
    double ref = 0;
    for (int c = 0; c < d; ++c) {
      a[c] = static_cast<float>(rng.normal());
      b[c] = static_cast<float>(rng.normal());
      ref += static_cast<double>(a[c]) * b[c];
    }
    CHECK(sparse::dot(a.data(), b.data(), d) == Approx(ref).margin(1e-5));
  }
}

TEST_CASE("attend_row equals fp64 softmax attention over the listed keys, with its logsumexp", "[sparse_common]") {
  problem p{.batch = 1, .heads = 1, .seq_len = 50, .head_dim = 24};
  const naive::inputs in = naive::random_inputs(p, 11, 2.0);
  const std::vector<std::int32_t> keys{0, 3, 4, 17, 18, 19, 33, 49};
  std::vector<float> scores(keys.size()), out(p.head_dim);
  const int i = 20;
  const float lse = sparse::attend_row(in.q.data() + in.at(0, i), in.k.data(), in.v.data(), p.head_dim,
                                       static_cast<float>(p.scale()), keys, scores.data(), out.data());
  const std::vector<double> ref = naive::attend_keys(in, 0, i, keys);
  for (int c = 0; c < p.head_dim; ++c) CHECK(out[c] == Approx(ref[c]).margin(1e-5));
  double s = 0;
  const std::vector<double> all = naive::scores_row(in, 0, i);
  for (std::int32_t j : keys) s += std::exp(all[j]);
  CHECK(lse == Approx(std::log(s)).epsilon(1e-5));
}

TEST_CASE("attend_row: an empty key list gives a zero row and -inf logsumexp", "[sparse_common]") {
  problem p{.batch = 1, .heads = 1, .seq_len = 4, .head_dim = 8};
  const naive::inputs in = naive::random_inputs(p, 1);
  std::vector<float> out(p.head_dim, 123.0f), scores(1);
  const float lse = sparse::attend_row(in.q.data(), in.k.data(), in.v.data(), p.head_dim, 0.5f, {}, scores.data(),
                                       out.data());
  CHECK(std::isinf(lse));
  CHECK(lse < 0);
  for (float x : out) CHECK(x == 0.0f);
}

TEST_CASE("attend_row stays finite and exact with logits of ±1e4", "[sparse_common]") {
  problem p{.batch = 1, .heads = 1, .seq_len = 6, .head_dim = 4};
  naive::inputs in = naive::random_inputs(p, 5);
  for (float& x : in.q) x *= 5000.0f;
  const std::vector<std::int32_t> keys{0, 1, 2, 3, 4, 5};
  std::vector<float> out(p.head_dim), scores(keys.size());
  sparse::attend_row(in.q.data(), in.k.data(), in.v.data(), p.head_dim, static_cast<float>(p.scale()), keys,
                     scores.data(), out.data());
  const std::vector<double> ref = naive::attend_keys(in, 0, 0, keys);
  for (int c = 0; c < p.head_dim; ++c) {
    CHECK(std::isfinite(out[c]));
    CHECK(out[c] == Approx(ref[c]).margin(1e-4));
  }
}

TEST_CASE("topk_indices returns the sort-based top-k, ascending, lower index winning ties", "[sparse_common]") {
  counter_rng rng(9, 9);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 1 + static_cast<int>(rng.below(60));
    const int k = static_cast<int>(rng.below(70));
    std::vector<float> s(n);
    // Few distinct values, so ties are everywhere (and some distinct reals).
    for (float& x : s) x = trial % 3 == 0 ? static_cast<float>(rng.normal()) : static_cast<float>(rng.below(5));
    std::vector<std::int32_t> ref(n);
    std::iota(ref.begin(), ref.end(), 0);
    std::stable_sort(ref.begin(), ref.end(), [&](int a, int b) { return s[a] > s[b]; });
    ref.resize(std::min(k, n));
    std::sort(ref.begin(), ref.end());
    std::vector<std::int32_t> sel(n);
    std::vector<float> work(n);
    const int m = sparse::topk_indices(s.data(), n, k, sel.data(), work.data());
    REQUIRE(m == std::min(k, n));
    CHECK(std::vector<std::int32_t>(sel.begin(), sel.begin() + m) == ref);
  }
}

TEST_CASE("kth_largest is exact on both paths, with heavy ties", "[sparse_common]") {
  counter_rng rng(12, 1);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + static_cast<int>(rng.below(1500));
    const int k = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(n)));
    std::vector<double> v(n);
    const bool ties = trial % 2 == 0;
    for (double& x : v) x = ties ? static_cast<double>(rng.below(8)) : rng.normal();
    std::vector<double> sorted = v, work(n);
    std::sort(sorted.begin(), sorted.end(), std::greater<double>());
    INFO("n=" << n << " k=" << k << " ties=" << ties);
    CHECK(sparse::kth_largest(v.data(), n, k, work.data()) == sorted[k - 1]);
  }
}

TEST_CASE("topk_indices tie rule on a hand example", "[sparse_common]") {
  const std::vector<float> s{1, 3, 2, 3, 3, 0};
  std::vector<std::int32_t> sel(s.size());
  std::vector<float> work(s.size());
  REQUIRE(sparse::topk_indices(s.data(), 6, 2, sel.data(), work.data()) == 2);
  CHECK(sel[0] == 1);
  CHECK(sel[1] == 3);  // 1, 3 and 4 tie at 3: the two lowest indices win
  REQUIRE(sparse::topk_indices(s.data(), 6, 4, sel.data(), work.data()) == 4);
  CHECK(std::vector<std::int32_t>(sel.begin(), sel.begin() + 4) == std::vector<std::int32_t>{1, 2, 3, 4});
  CHECK(sparse::topk_indices(s.data(), 6, 0, sel.data(), work.data()) == 0);
}

TEST_CASE("attend_rows and build_support follow the row-key source", "[sparse_common]") {
  problem p{.batch = 2, .heads = 2, .seq_len = 9, .head_dim = 8};
  const naive::inputs in = naive::random_inputs(p, 21);
  // Row (bh, i) attends keys {bh, …, bh + (i % 4)} clipped at T: a pattern that depends on both.
  std::vector<std::int32_t> buf(p.seq_len);
  auto rows = [&](std::size_t bh, int i) {
    int n = 0;
    for (int j = static_cast<int>(bh); j <= static_cast<int>(bh) + i % 4 && j < p.seq_len; ++j) buf[n++] = j;
    return std::span<const std::int32_t>(buf.data(), static_cast<std::size_t>(n));
  };
  std::vector<float> out(p.qkv_elements());
  sparse::attend_rows(p, in.view(), out.data(), p.seq_len, rows);
  attention_support s;
  sparse::build_support(p, s, rows);
  REQUIRE(s.rows() == p.rows());
  CHECK(naive::row_keys(s, 3 * 9 + 5) == std::vector<std::int32_t>{3, 4});
  CHECK(naive::rel_err(out, naive::attend_support(in, s)) < 1e-5);
}

TEST_CASE("blockwise_scored_pairs counts the causal tiles", "[sparse_common]") {
  CHECK(sparse::blockwise_scored_pairs(10, 4, false) == 100);
  CHECK(sparse::blockwise_scored_pairs(10, 4, true) == 4 * 4 + 4 * 8 + 2 * 10);
  CHECK(sparse::blockwise_scored_pairs(10, 1, true) == 55);
}

TEST_CASE("sparse variants: analytic memory matches the tracked peak within 10%", "[sparse_common]") {
  struct setting {
    const char* name;
    std::map<std::string, param_value> params;
  };
  const std::vector<setting> settings{
      {"window", {}},
      {"window", {{"global_tokens", std::int64_t{3}}}},
      {"bigbird", {{"block", std::int64_t{8}}, {"random_blocks", std::int64_t{2}}}},
      {"bigbird", {}},  // falls back at these T
      {"oracle_topk", {}},
      {"oracle_topk_grouped", {}},
  };
  for (bool causal : {false, true})
    for (int t : {40, 200, 512})
      for (const auto& s : settings) {
        problem p{.batch = 2, .heads = 3, .seq_len = t, .head_dim = 16, .causal = causal, .k = 16};
        if (std::string(s.name) == "bigbird") p.k.reset();
        const naive::inputs in = naive::random_inputs(p, 4);
        const naive::run_result r = naive::run_variant(s.name, in, s.params, false);
        INFO(s.name << " T=" << t << " causal=" << causal);
        CHECK(static_cast<double>(r.peak_bytes) == Approx(static_cast<double>(r.analytic_bytes)).epsilon(0.10));
      }
}

TEST_CASE("sparse variants: memory grows linearly in T at fixed k", "[sparse_common]") {
  for (const char* name : {"window", "oracle_topk", "oracle_topk_grouped", "bigbird"}) {
    const attention_variant* v = variant_registry::instance().find(name);
    REQUIRE(v);
    const param_set params = v->parameters().resolve("test", {});
    auto bytes = [&](int t) {
      problem p{.batch = 1, .heads = 4, .seq_len = t, .head_dim = 64, .causal = true,
                .k = std::string(name) == "bigbird" ? std::optional<int>{} : std::optional<int>{64}};
      return static_cast<double>(v->analytic_memory_bytes(p, params));
    };
    // T = 4096 → 8192 (beyond BigBird's fallback): doubling T at most doubles the bytes.
    const double slope = std::log2(bytes(8192) / bytes(4096));
    INFO(name);
    CHECK(slope > 0.9);
    CHECK(slope < 1.1);
  }
}
