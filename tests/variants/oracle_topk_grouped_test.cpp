// oracle_topk_grouped: per query, the top-(H·k) (head, key) pairs by exact probability (fp64
// reference), per-head softmax over them, zero output for a head with no keys, identical to
// oracle_topk when H = 1, at least the per-head oracle's total mass, causal budget and canary.
#include <algorithm>
#include <numeric>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/sparse_common/naive_reference.hpp"

using namespace sb;
namespace naive = sb::sparse::naive;

namespace {

/// fp64 reference: per (b, i), all heads' probabilities ranked (ties: lower key, then lower head);
/// returns per head the ascending key list.
std::vector<std::vector<std::int32_t>> reference_grouped(const naive::inputs& in, int b, int i, int k) {
  const int nh = in.p.heads;
  std::vector<std::tuple<double, int, int>> cand;  // (−p, key, head)
  for (int h = 0; h < nh; ++h) {
    const std::vector<double> pr = naive::probs_row(in, static_cast<std::size_t>(b) * nh + h, i);
    for (int j = 0; j < static_cast<int>(pr.size()); ++j) cand.emplace_back(-pr[j], j, h);
  }
  std::sort(cand.begin(), cand.end());
  cand.resize(std::min<std::size_t>(static_cast<std::size_t>(nh) * k, cand.size()));
  std::vector<std::vector<std::int32_t>> per_head(nh);
  for (const auto& [np, j, h] : cand) per_head[h].push_back(j);
  for (auto& keys : per_head) std::sort(keys.begin(), keys.end());
  return per_head;
}

/// Mean over queries of the summed probability (over heads) of the selected pairs.
std::vector<double> mass_per_query(const naive::inputs& in, const attention_support& s) {
  const int t = in.p.seq_len, nh = in.p.heads;
  std::vector<double> m(static_cast<std::size_t>(in.p.batch) * t, 0.0);
  for (int b = 0; b < in.p.batch; ++b)
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < t; ++i) {
        const std::size_t bh = static_cast<std::size_t>(b) * nh + h;
        const std::vector<double> pr = naive::probs_row(in, bh, i);
        for (std::int32_t j : naive::row_keys(s, bh * t + i)) m[static_cast<std::size_t>(b) * t + i] += pr[j];
      }
  return m;
}

}  // namespace

TEST_CASE("oracle_topk_grouped selects the top H*k pairs by probability across heads", "[oracle_topk_grouped]") {
  for (bool causal : {false, true})
    for (int k : {1, 4, 9}) {
      problem p{.batch = 2, .heads = 3, .seq_len = 45, .head_dim = 16, .causal = causal, .k = k};
      naive::inputs in = naive::random_inputs(p, 300 + k);
      // Heads with different sharpness, so their shares of the budget differ.
      for (int b = 0; b < 2; ++b)
        for (int h = 0; h < 3; ++h)
          for (int i = 0; i < p.seq_len; ++i)
            for (int c = 0; c < p.head_dim; ++c) in.q[in.at(b * 3 + h, i) + c] *= static_cast<float>(0.5 + 1.5 * h);
      const auto r = naive::run_variant("oracle_topk_grouped", in);
      REQUIRE(r.support.rows() == p.rows());
      bool uneven = false;
      for (int b = 0; b < 2; ++b)
        for (int i = 0; i < p.seq_len; ++i) {
          const auto want = reference_grouped(in, b, i, k);
          std::size_t total = 0;
          for (int h = 0; h < 3; ++h) {
            INFO("causal=" << causal << " k=" << k << " b=" << b << " h=" << h << " i=" << i);
            const auto keys = naive::row_keys(r.support, (static_cast<std::size_t>(b) * 3 + h) * p.seq_len + i);
            CHECK(keys == want[h]);
            total += keys.size();
            uneven |= keys.size() != static_cast<std::size_t>(std::min(k, naive::visible(p, i)));
          }
          // Budget min(H·k, H·L_i).
          CHECK(total == static_cast<std::size_t>(3 * std::min(k, naive::visible(p, i))));
        }
      CHECK(uneven);  // heads really competed
      CHECK(naive::rel_err(r.out, naive::attend_support(in, r.support)) < 1e-5);
    }
}

TEST_CASE("oracle_topk_grouped equals oracle_topk when H = 1", "[oracle_topk_grouped]") {
  for (bool causal : {false, true}) {
    problem p{.batch = 2, .heads = 1, .seq_len = 66, .head_dim = 16, .causal = causal, .k = 7};
    const naive::inputs in = naive::random_inputs(p, 12, 2.0);
    const auto g = naive::run_variant("oracle_topk_grouped", in);
    const auto o = naive::run_variant("oracle_topk", in);
    CHECK(g.support.row_ptr == o.support.row_ptr);
    CHECK(g.support.cols == o.support.cols);
    CHECK(g.out == o.out);
  }
}

TEST_CASE("oracle_topk_grouped captures at least the per-head oracle's mass per query", "[oracle_topk_grouped]") {
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 4, .seq_len = 48, .head_dim = 16, .causal = causal, .k = 3};
    naive::inputs in = naive::random_inputs(p, 77);
    for (int i = 0; i < p.seq_len; ++i)
      for (int c = 0; c < p.head_dim; ++c) in.q[in.at(0, i) + c] *= 4.0f;  // one peaky head
    const auto mg = mass_per_query(in, naive::run_variant("oracle_topk_grouped", in).support);
    const auto mo = mass_per_query(in, naive::run_variant("oracle_topk", in).support);
    double gain = 0;
    for (std::size_t q = 0; q < mg.size(); ++q) {
      CHECK(mg[q] >= mo[q] - 1e-9);
      gain += mg[q] - mo[q];
    }
    CHECK(gain > 0.1);
  }
}

TEST_CASE("oracle_topk_grouped: a head that gets no keys outputs 0", "[oracle_topk_grouped]") {
  // Head 0: query i has two dominant keys (p ≈ 0.5 each). Head 1: all scores 0 (p = 1/T).
  // With k = 1 the budget of 2 goes to head 0, so head 1 is empty.
  problem p{.batch = 1, .heads = 2, .seq_len = 16, .head_dim = 4, .causal = false, .k = 1};
  naive::inputs in = naive::random_inputs(p, 3);
  for (int i = 0; i < p.seq_len; ++i)
    for (int c = 0; c < p.head_dim; ++c) {
      in.q[in.at(0, i) + c] = c == 0 ? 10.0f : 0.0f;
      in.k[in.at(0, i) + c] = (c == 0 && (i == 2 || i == 9)) ? 10.0f : 0.0f;
      in.q[in.at(1, i) + c] = 0.0f;
    }
  const auto r = naive::run_variant("oracle_topk_grouped", in);
  for (int i = 0; i < p.seq_len; ++i) {
    CHECK(naive::row_keys(r.support, i) == std::vector<std::int32_t>{2, 9});
    CHECK(naive::row_keys(r.support, p.seq_len + i).empty());
    for (int c = 0; c < p.head_dim; ++c) {
      CHECK(r.out[in.at(1, i) + c] == 0.0f);
      CHECK(std::isfinite(r.out[in.at(0, i) + c]));
    }
  }
}

TEST_CASE("oracle_topk_grouped: k >= T is dense; causal canary and no future keys", "[oracle_topk_grouped]") {
  const attention_variant* v = variant_registry::instance().find("oracle_topk_grouped");
  REQUIRE(v);
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 3, .seq_len = 40, .head_dim = 8, .causal = causal};
    const auto exact = v->exact_setting(p);
    REQUIRE(exact);
    p.k = exact->k;
    const naive::inputs in = naive::random_inputs(p, 8, 2.0);
    CHECK(naive::rel_err(naive::run_variant("oracle_topk_grouped", in).out, naive::dense(in)) < 1e-5);
  }
  problem p{.batch = 2, .heads = 3, .seq_len = 60, .head_dim = 8, .causal = true, .k = 4};
  const naive::inputs in = naive::random_inputs(p, 9);
  const auto base = naive::run_variant("oracle_topk_grouped", in);
  const int cut = 29;
  naive::inputs changed = in;
  for (std::size_t bh = 0; bh < 6; ++bh)
    for (int j = cut + 1; j < p.seq_len; ++j)
      for (int c = 0; c < p.head_dim; ++c) {
        changed.k[in.at(bh, j) + c] = 40.0f;
        changed.v[in.at(bh, j) + c] = 7.0f;
      }
  const auto after = naive::run_variant("oracle_topk_grouped", changed);
  for (std::size_t bh = 0; bh < 6; ++bh)
    for (int i = 0; i < p.seq_len; ++i) {
      for (std::int32_t j : naive::row_keys(after.support, bh * p.seq_len + i)) CHECK(j <= i);
      if (i <= cut)
        for (int c = 0; c < p.head_dim; ++c) CHECK(base.out[in.at(bh, i) + c] == after.out[in.at(bh, i) + c]);
    }
}

TEST_CASE("oracle_topk_grouped: budget ladder error falls", "[oracle_topk_grouped]") {
  const attention_variant* v = variant_registry::instance().find("oracle_topk_grouped");
  problem p{.batch = 1, .heads = 3, .seq_len = 48, .head_dim = 16, .causal = true};
  double prev = 1e9;
  for (const auto& step : v->budget_ladder(p)) {
    p.k = step.k;
    const naive::inputs in = naive::random_inputs(p, 10);
    const double err = naive::rel_err(naive::run_variant("oracle_topk_grouped", in).out, naive::dense(in));
    CHECK(err < prev);
    prev = err;
  }
  CHECK(prev < 1e-5);
}

TEST_CASE("oracle_topk_grouped: ties at the budget go to the lower key, then the lower head", "[oracle_topk_grouped]") {
  // Heads 0 and 1 identical, each with keys 2 and 7 tied at p ≈ 0.5; head 2 uniform. k = 1 → budget
  // 3 for four tied pairs: (key 2, head 0), (key 2, head 1), (key 7, head 0) win; (key 7, head 1) loses.
  problem p{.batch = 1, .heads = 3, .seq_len = 16, .head_dim = 4, .causal = false, .k = 1};
  naive::inputs in = naive::random_inputs(p, 4);
  for (int h = 0; h < 3; ++h)
    for (int i = 0; i < p.seq_len; ++i)
      for (int c = 0; c < p.head_dim; ++c) {
        in.q[in.at(h, i) + c] = (h < 2 && c == 0) ? 10.0f : 0.0f;
        in.k[in.at(h, i) + c] = (h < 2 && c == 0 && (i == 2 || i == 7)) ? 10.0f : 0.0f;
      }
  const auto r = naive::run_variant("oracle_topk_grouped", in);
  for (int i = 0; i < p.seq_len; ++i) {
    CHECK(naive::row_keys(r.support, i) == std::vector<std::int32_t>{2, 7});
    CHECK(naive::row_keys(r.support, p.seq_len + i) == std::vector<std::int32_t>{2});
    CHECK(naive::row_keys(r.support, 2 * p.seq_len + i).empty());
    const auto want = reference_grouped(in, 0, i, 1);
    CHECK(want[0] == std::vector<std::int32_t>{2, 7});
    CHECK(want[1] == std::vector<std::int32_t>{2});
  }
}

TEST_CASE("oracle_topk and oracle_topk_grouped are permutation-equivariant when non-causal", "[oracle_topk_grouped][oracle_topk]") {
  problem p{.batch = 1, .heads = 2, .seq_len = 30, .head_dim = 8, .causal = false, .k = 4};
  const naive::inputs in = naive::random_inputs(p, 55, 2.0);
  std::vector<int> perm(p.seq_len);
  std::iota(perm.begin(), perm.end(), 0);
  std::reverse(perm.begin(), perm.begin() + 11);
  std::rotate(perm.begin() + 11, perm.begin() + 17, perm.end());
  for (const char* name : {"oracle_topk", "oracle_topk_grouped"}) {
    INFO(name);
    const auto base = naive::run_variant(name, in);
    naive::inputs kv = in, qs = in;  // keys/values permuted together; queries permuted
    for (std::size_t bh = 0; bh < 2; ++bh)
      for (int j = 0; j < p.seq_len; ++j)
        for (int c = 0; c < p.head_dim; ++c) {
          kv.k[in.at(bh, j) + c] = in.k[in.at(bh, perm[j]) + c];
          kv.v[in.at(bh, j) + c] = in.v[in.at(bh, perm[j]) + c];
          qs.q[in.at(bh, j) + c] = in.q[in.at(bh, perm[j]) + c];
        }
    const auto rkv = naive::run_variant(name, kv);
    const auto rq = naive::run_variant(name, qs);
    for (std::size_t bh = 0; bh < 2; ++bh)
      for (int i = 0; i < p.seq_len; ++i)
        for (int c = 0; c < p.head_dim; ++c) {
          CHECK(rkv.out[in.at(bh, i) + c] == Approx(base.out[in.at(bh, i) + c]).margin(1e-5));
          CHECK(rq.out[in.at(bh, i) + c] == Approx(base.out[in.at(bh, perm[i]) + c]).margin(1e-5));
        }
  }
}
