// Sinkhorn block sorting attention (training-free sort): the variant against a naive fp64 form,
// Sinkhorn balancing, the dense limits, a planted block permutation, causality, memory and FLOPs.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/sinkhorn/block_sort.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "tests/variants/variant_test_util.hpp"

using namespace sb;

namespace {

using variant_test::inputs;
using variant_test::make_inputs;
using variant_test::random_tensor;
using variant_test::rel_err;
using variant_test::run_result;
using variant_test::support_row;

problem make_problem(int b, int h, int t, int d, int k, bool causal) {
  return variant_test::make_problem(b, h, t, d, k, causal, 3);
}

const attention_variant& sinkhorn() { return variant_test::find_variant("sinkhorn"); }

run_result run_variant(const problem& p, const variant_test::overrides& overrides, const inputs& x,
                       bool with_support = true) {
  return variant_test::run_variant("sinkhorn", p, overrides, x.view(), with_support);
}

/// Softmax of τ·q_i·k_j over `keys`, times V, in fp64.
void softmax_row(const float* q, const float* k, const float* v, int i, int d, const std::vector<int>& keys,
                 double* out) {
  std::vector<double> s(keys.size());
  double mx = -1e300;
  for (std::size_t a = 0; a < keys.size(); ++a) {
    double dot = 0;
    for (int c = 0; c < d; ++c) dot += static_cast<double>(q[i * d + c]) * k[keys[a] * d + c];
    s[a] = dot / std::sqrt(static_cast<double>(d));
    mx = std::max(mx, s[a]);
  }
  double den = 0;
  std::vector<double> num(d, 0.0);
  for (std::size_t a = 0; a < keys.size(); ++a) {
    const double w = std::exp(s[a] - mx);
    den += w;
    for (int c = 0; c < d; ++c) num[c] += w * v[keys[a] * d + c];
  }
  for (int c = 0; c < d; ++c) out[c] = num[c] / den;
}

std::vector<double> naive_dense(const problem& p, const inputs& x) {
  const int t = p.seq_len, d = p.head_dim;
  std::vector<double> out(p.qkv_elements());
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch) * p.heads; ++bh)
    for (int i = 0; i < t; ++i) {
      std::vector<int> keys(p.causal ? i + 1 : t);
      std::iota(keys.begin(), keys.end(), 0);
      softmax_row(x.q.data() + bh * t * d, x.k.data() + bh * t * d, x.v.data() + bh * t * d, i, d, keys,
                  out.data() + (bh * t + i) * d);
    }
  return out;
}

struct naive_result {
  std::vector<double> out;
  std::vector<std::vector<int>> support;
  std::vector<std::vector<int>> selected;  // per (head, query block)
};

/// The whole method from its definition, in fp64.
naive_result naive_sinkhorn(const problem& p, const inputs& x, int n_sorted, bool balance, int iters, double temp) {
  const int t = p.seq_len, d = p.head_dim, b = *p.k, nb = (t + b - 1) / b;
  const double tau = 1.0 / std::sqrt(static_cast<double>(d));
  const double ninf = -std::numeric_limits<double>::infinity();
  naive_result res;
  res.out.assign(p.qkv_elements(), 0.0);
  for (std::size_t bh = 0; bh < static_cast<std::size_t>(p.batch) * p.heads; ++bh) {
    const float* q = x.q.data() + bh * t * d;
    const float* k = x.k.data() + bh * t * d;
    const float* v = x.v.data() + bh * t * d;
    auto mean = [&](const float* m, int from, int to) {  // rows [from, to)
      std::vector<double> r(d, 0.0);
      for (int i = from; i < to; ++i)
        for (int c = 0; c < d; ++c) r[c] += m[i * d + c];
      for (auto& e : r) e /= (to - from);
      return r;
    };
    std::vector<std::vector<double>> qbar(nb), kbar(nb);
    for (int a = 0; a < nb; ++a) {
      const int from = a * b, to = std::min(t, (a + 1) * b);
      kbar[a] = mean(k, from, to);
      qbar[a] = p.causal ? mean(q, 0, from + 1) : mean(q, from, to);
    }
    std::vector<std::vector<double>> r(nb, std::vector<double>(nb, ninf));
    for (int a = 0; a < nb; ++a)
      for (int c = 0; c < nb; ++c) {
        if (c == a || (p.causal && c > a)) continue;
        double dot = 0;
        for (int e = 0; e < d; ++e) dot += qbar[a][e] * kbar[c][e];
        r[a][c] = tau * dot / (balance ? temp : 1.0);
      }
    if (balance)
      for (int it = 0; it < iters; ++it) {
        for (int a = 0; a < nb; ++a) {
          double s = 0;
          for (int c = 0; c < nb; ++c) s += std::exp(r[a][c]);
          if (s > 0)
            for (int c = 0; c < nb; ++c) r[a][c] -= std::log(s);
        }
        for (int c = 0; c < nb; ++c) {
          double s = 0;
          for (int a = 0; a < nb; ++a) s += std::exp(r[a][c]);
          if (s > 0)
            for (int a = 0; a < nb; ++a) r[a][c] -= std::log(s);
        }
      }
    std::vector<std::vector<int>> sel(nb);
    for (int a = 0; a < nb; ++a) {
      std::vector<int> cand;
      for (int c = 0; c < nb; ++c)
        if (c != a && (!p.causal || c < a)) cand.push_back(c);
      std::stable_sort(cand.begin(), cand.end(), [&](int x1, int x2) { return r[a][x1] > r[a][x2]; });
      cand.resize(std::min<std::size_t>(cand.size(), n_sorted));
      sel[a] = cand;
      res.selected.push_back(cand);
    }
    for (int i = 0; i < t; ++i) {
      const int a = i / b;
      std::vector<int> keys;
      for (int j = a * b; j < (p.causal ? i + 1 : std::min(t, (a + 1) * b)); ++j) keys.push_back(j);
      for (int c : sel[a])
        for (int j = c * b; j < std::min(t, (c + 1) * b); ++j) keys.push_back(j);
      std::sort(keys.begin(), keys.end());
      softmax_row(q, k, v, i, d, keys, res.out.data() + (bh * t + i) * d);
      res.support.push_back(keys);
    }
  }
  return res;
}

}  // namespace

TEST_CASE("sinkhorn equals a naive fp64 block-sort attention (P10)", "[sinkhorn]") {
  struct shape {
    int t, k, n_sorted;
  };
  for (const shape s : {shape{1, 4, 1}, shape{7, 2, 1}, shape{64, 16, 1}, shape{64, 8, 3}, shape{100, 16, 2},
                        shape{129, 32, 1}, shape{50, 9, 4}, shape{20, 64, 1}})
    for (bool causal : {false, true})
      for (const std::string sort : {"pooled_topk", "pooled_sinkhorn"}) {
        if (causal && sort == "pooled_sinkhorn") continue;
        CAPTURE(s.t, s.k, s.n_sorted, causal, sort);
        const problem p = make_problem(2, 2, s.t, 16, s.k, causal);
        const inputs x = make_inputs(p, 40 + s.t);
        const auto r = run_variant(p, {{"n_sorted", std::int64_t{s.n_sorted}}, {"sort", sort}}, x);
        const auto ref = naive_sinkhorn(p, x, s.n_sorted, sort == "pooled_sinkhorn", 5, 0.75);
        CHECK(rel_err(r.out, ref.out) < 2e-6);
        REQUIRE(r.support.rows() == p.rows());
        for (std::size_t row = 0; row < p.rows(); ++row) CHECK(support_row(r.support, row) == ref.support[row]);
        CHECK(r.extras.at("sinkhorn_sort_ms") >= 0.0);
        CHECK(r.extras.count("sinkhorn_balance_err") == (sort == "pooled_sinkhorn" ? 1u : 0u));
      }
}

TEST_CASE("sinkhorn balancing: many rounds make rows and columns sum to 1, one round only columns", "[sinkhorn]") {
  for (int n : {3, 8, 33}) {
    CAPTURE(n);
    auto logits = random_tensor(static_cast<std::size_t>(n) * n, 5 + n, rng_stream::dataset_aux, 2.0);
    for (int a = 0; a < n; ++a) logits[static_cast<std::size_t>(a) * n + a] = -std::numeric_limits<float>::infinity();
    std::vector<float> col(n);
    auto once = logits;
    block_sort::sinkhorn_log(once.data(), n, 1, col.data());
    for (int c = 0; c < n; ++c) {
      double s = 0;
      for (int a = 0; a < n; ++a) s += std::exp(static_cast<double>(once[static_cast<std::size_t>(a) * n + c]));
      CHECK(s == Approx(1.0).epsilon(1e-5));
    }
    CHECK(block_sort::balance_error(once.data(), n) > 1e-3);  // the rows are not balanced yet
    block_sort::sinkhorn_log(logits.data(), n, 300, col.data());
    CHECK(block_sort::balance_error(logits.data(), n) < 1e-4);
  }
}

TEST_CASE("sinkhorn reduces to dense attention when one block or all blocks are attended (P1)", "[sinkhorn]") {
  for (bool causal : {false, true})
    for (const auto& [t, k, n_sorted] :
         std::vector<std::tuple<int, int, int>>{{1, 1, 1}, {37, 37, 1}, {37, 64, 1}, {64, 32, 1}, {65, 8, 8},
                                                {100, 10, 9}}) {
      CAPTURE(causal, t, k, n_sorted);
      const problem p = make_problem(2, 2, t, 16, k, causal);
      const inputs x = make_inputs(p, 77);
      const auto r = run_variant(p, {{"n_sorted", std::int64_t{n_sorted}}}, x);
      CHECK(rel_err(r.out, naive_dense(p, x)) < 2e-6);
    }
  const auto& var = sinkhorn();
  const problem p = make_problem(1, 1, 123, 16, 8, true);
  const auto exact = var.exact_setting(p);
  REQUIRE(exact.has_value());
  CHECK(exact->k == 123);
}

TEST_CASE("sinkhorn sorts each query block to a planted key block", "[sinkhorn]") {
  // Block a's queries and block π(a)'s keys share a direction u_a; everything else is noise.
  constexpr int t = 96, b = 12, d = 32, nb = t / b;
  const std::vector<int> perm = {5, 3, 7, 0, 6, 2, 1, 4};  // π(a) ≠ a
  const auto u = random_tensor(nb * d, 1, rng_stream::dataset_aux, 1.0);
  for (const std::string sort : {"pooled_topk", "pooled_sinkhorn"}) {
    problem p = make_problem(1, 1, t, d, b, false);
    inputs x = make_inputs(p, 2);
    for (auto& e : x.q) e *= 0.3f;
    for (auto& e : x.k) e *= 0.3f;
    for (int a = 0; a < nb; ++a)
      for (int i = 0; i < b; ++i)
        for (int c = 0; c < d; ++c) {
          x.q[(a * b + i) * d + c] += 2.0f * u[a * d + c];
          x.k[(perm[a] * b + i) * d + c] += 2.0f * u[a * d + c];
        }
    const auto r = run_variant(p, {{"sort", sort}}, x);
    for (int a = 0; a < nb; ++a)
      for (int i = 0; i < b; ++i) {
        const auto keys = support_row(r.support, a * b + i);
        REQUIRE(keys.size() == 2u * b);
        CHECK(std::count_if(keys.begin(), keys.end(), [&](int j) { return j / b == perm[a]; }) == b);
      }
    // The sorted-in block is attention over the permuted block: compare with the naive form once more.
    CHECK(rel_err(r.out, naive_sinkhorn(p, x, 1, sort == "pooled_sinkhorn", 5, 0.75).out) < 2e-6);
  }
}

TEST_CASE("sinkhorn causal: changing queries, keys or values after t leaves rows ≤ t bitwise equal (P2)",
          "[sinkhorn]") {
  const problem p = make_problem(2, 2, 130, 16, 16, true);
  const inputs x = make_inputs(p, 9);
  for (int n_sorted : {1, 3}) {
    const auto base = run_variant(p, {{"n_sorted", std::int64_t{n_sorted}}}, x, false);
    for (int cut : {0, 15, 16, 57, 128}) {
      inputs y = x;
      for (std::size_t bh = 0; bh < 4; ++bh)
        for (int i = cut + 1; i < p.seq_len; ++i)
          for (int c = 0; c < p.head_dim; ++c) {
            const std::size_t e = (bh * p.seq_len + i) * p.head_dim + c;
            y.q[e] = 5.0f - y.q[e];
            y.k[e] = 3.0f * y.k[e] + 2.0f;
            y.v[e] = -y.v[e];
          }
      const auto moved = run_variant(p, {{"n_sorted", std::int64_t{n_sorted}}}, y, false);
      for (std::size_t bh = 0; bh < 4; ++bh)
        for (int i = 0; i <= cut; ++i)
          for (int c = 0; c < p.head_dim; ++c) {
            const std::size_t e = (bh * p.seq_len + i) * p.head_dim + c;
            REQUIRE(moved.out[e] == base.out[e]);
          }
    }
  }
}

TEST_CASE("sinkhorn causal sorts only to past blocks; block 0 attends only itself", "[sinkhorn]") {
  const problem p = make_problem(1, 1, 70, 8, 10, true);
  const auto r = run_variant(p, {{"n_sorted", std::int64_t{2}}}, make_inputs(p, 1));
  for (int i = 0; i < 70; ++i) {
    const auto keys = support_row(r.support, i);
    CHECK(keys.back() <= i);
    const int a = i / 10;
    const std::size_t expect = static_cast<std::size_t>(i - a * 10 + 1 + std::min(a, 2) * 10);
    CHECK(keys.size() == expect);
  }
  const auto& var = sinkhorn();
  const auto why =
      unsupported_reason(var, p, var.parameters().resolve("t", {{"sort", std::string("pooled_sinkhorn")}}),
                         device_kind::cpu);
  REQUIRE(why.has_value());
  CHECK_THAT(*why, Catch::Contains("non-causal"));
}

TEST_CASE("sinkhorn is deterministic and its rows are convex combinations (P4)", "[sinkhorn]") {
  const problem p = make_problem(1, 2, 77, 8, 10, false);
  inputs x = make_inputs(p, 5);
  const auto a = run_variant(p, {{"sort", std::string("pooled_sinkhorn")}}, x);
  const auto b = run_variant(p, {{"sort", std::string("pooled_sinkhorn")}}, x);
  CHECK(a.out == b.out);
  CHECK(a.support.cols == b.support.cols);
  std::fill(x.v.begin(), x.v.end(), -2.0f);
  for (bool causal : {false, true}) {
    problem pc = p;
    pc.causal = causal;
    const auto r = run_variant(pc, {}, x, false);
    for (float o : r.out) CHECK(o == Approx(-2.0f).epsilon(1e-6));
  }
}

TEST_CASE("sinkhorn error falls along its budget ladder, averaged over seeds (P3)", "[sinkhorn]") {
  const auto& var = sinkhorn();
  for (bool causal : {false, true}) {
    const problem base = make_problem(1, 2, 128, 16, 16, causal);
    const auto ladder = var.budget_ladder(base);
    REQUIRE(ladder.size() == 4);
    std::vector<double> err;
    for (const auto& step : ladder) {
      problem p = base;
      p.k = step.k;
      double e = 0;
      for (int s = 0; s < 4; ++s) {
        const inputs x = make_inputs(p, 500 + s);
        e += rel_err(run_variant(p, {}, x, false).out, naive_dense(p, x)) / 4;
      }
      err.push_back(e);
    }
    CAPTURE(causal, err);
    for (std::size_t i = 1; i < err.size(); ++i) CHECK(err[i] < err[i - 1]);
    CHECK(err.back() < 1e-6);  // k = T/2: two blocks that see each other
  }
}

TEST_CASE("sinkhorn analytic memory equals the tracked peak of a run, output included", "[sinkhorn]") {
  for (const auto& [t, k, causal, sort] : std::vector<std::tuple<int, int, bool, std::string>>{
           {64, 16, false, "pooled_topk"}, {333, 32, true, "pooled_topk"}, {200, 8, false, "pooled_sinkhorn"},
           {20, 64, false, "pooled_sinkhorn"}}) {
    CAPTURE(t, k, causal, sort);
    const problem p = make_problem(2, 3, t, 32, k, causal);
    const auto r = run_variant(p, {{"sort", sort}, {"n_sorted", std::int64_t{2}}}, make_inputs(p, 2), false);
    CHECK(r.peak == r.analytic);
  }
}

TEST_CASE("sinkhorn FLOPs: attention over own plus one sorted block when k divides T", "[sinkhorn]") {
  const problem p = make_problem(2, 4, 1024, 64, 32, false);
  const auto& var = sinkhorn();
  const param_set params = var.parameters().resolve("test", {});
  const double nb = 32, per_head = 2.0 * 1024 * 64 + 2.0 * nb * nb * 64 + 4.0 * 64 * (1024.0 * 2 * 32);
  CHECK(var.flops(p, params).executed == Approx(8 * per_head));
}

TEST_CASE("sinkhorn: large logits stay finite and match the naive form", "[sinkhorn]") {
  for (const std::string sort : {"pooled_topk", "pooled_sinkhorn"}) {
    const problem p = make_problem(1, 2, 150, 32, 16, false);
    inputs x = make_inputs(p, 8);
    for (auto& e : x.q) e *= 30.0f;  // τ·q·k then has a standard deviation of 900
    for (auto& e : x.k) e *= 30.0f;
    const auto r = run_variant(p, {{"sort", sort}, {"n_sorted", std::int64_t{2}}}, x, false);
    CHECK(std::all_of(r.out.begin(), r.out.end(), [](float o) { return std::isfinite(o); }));
    CHECK(rel_err(r.out, naive_sinkhorn(p, x, 2, sort == "pooled_sinkhorn", 5, 0.75).out) < 1e-5);
  }
}
