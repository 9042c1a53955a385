// Tests for the accuracy metrics against hand-computed values: output errors, zero-norm and NaN
// handling, mass_recall, topk_recall (with ties), keys_per_query and causal future keys.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "harness/core/measure_settings.hpp"
#include "harness/metrics/accuracy.hpp"
#include "harness/metrics/reference_rows.hpp"
#include "tests/metrics/metrics_test_util.hpp"

using namespace sb;
using namespace sb::metrics_test;

namespace {

/// CSR support from one key list per row.
attention_support make_support(const std::vector<std::vector<std::int32_t>>& rows) {
  attention_support s;
  s.row_ptr.push_back(0);
  for (const auto& r : rows) {
    s.cols.insert(s.cols.end(), r.begin(), r.end());
    s.row_ptr.push_back(static_cast<std::int64_t>(s.cols.size()));
  }
  return s;
}

/// B = H = 1, T = 2, D = 2 with a hand-written reference: rows (3, 4) and (1, 0).
struct two_rows {
  problem p;
  reference_result ref;
  std::vector<float> qkv = std::vector<float>(4, 0.0f);  // not read without a support
  two_rows() {
    p.seq_len = 2;
    p.head_dim = 2;
    ref.rows = {0, 1};
    ref.out = {3, 4, 1, 0};
    ref.lse = {0, 0};
  }
  accuracy_report run(const std::vector<float>& out) const {
    return compute_accuracy(p, qkv.data(), qkv.data(), qkv.data(), out.data(), ref, nullptr);
  }
};

}  // namespace

TEST_CASE("rel_err, cos_sim, cos_sim_p10 and max_abs_err on hand values", "[metrics]") {
  const two_rows t;
  // O = (3, 4), (0, 1): diff = (0, 0), (−1, 1). ‖diff‖² = 2, ‖O_ref‖² = 25 + 1 = 26.
  // cos: row 0 = 1, row 1 = 0 → mean 0.5; p10 of {0, 1} = 0.1.
  const auto a = t.run({3, 4, 0, 1});
  CHECK(a.rel_err == Approx(std::sqrt(2.0 / 26.0)).epsilon(1e-14));
  CHECK(a.cos_sim == Approx(0.5).epsilon(1e-14));
  CHECK(a.cos_sim_p10 == Approx(0.1).epsilon(1e-14));
  CHECK(a.max_abs_err == 1.0);
  CHECK(a.ref_rows == 2);
  CHECK(a.nonfinite_outputs == 0);
  CHECK(a.zero_norm_rows == 0);
  CHECK_FALSE(a.mass_recall);
  CHECK_FALSE(a.mass_recall_p10);
  CHECK_FALSE(a.topk_recall);
  CHECK_FALSE(a.keys_per_query);
  CHECK_FALSE(a.keys_per_query_max);

  // A scaled row keeps cos = 1 but not rel_err: O = (6, 8), (1, 0) → ‖diff‖² = 25.
  const auto b = t.run({6, 8, 1, 0});
  CHECK(b.cos_sim == Approx(1.0).epsilon(1e-14));
  CHECK(b.rel_err == Approx(std::sqrt(25.0 / 26.0)).epsilon(1e-14));
  CHECK(b.max_abs_err == 4.0);
}

TEST_CASE("rows with a zero norm are skipped by cos_sim and counted", "[metrics]") {
  const two_rows t;
  // O row 1 = 0: cos over row 0 only (= 1); rel_err = ‖(−1, 0)‖ / √26.
  const auto a = t.run({3, 4, 0, 0});
  CHECK(a.zero_norm_rows == 1);
  CHECK(a.cos_sim == Approx(1.0).epsilon(1e-14));
  CHECK(a.cos_sim_p10 == Approx(1.0).epsilon(1e-14));
  CHECK(a.rel_err == Approx(1.0 / std::sqrt(26.0)).epsilon(1e-14));
}

TEST_CASE("NaN or Inf in the output are counted and poison the error metrics", "[metrics]") {
  two_rows t;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const auto a = t.run({3, nan, 1, inf});
  CHECK(a.nonfinite_outputs == 2);
  CHECK(std::isnan(a.rel_err));
  CHECK(std::isnan(a.max_abs_err));
  CHECK(std::isnan(a.cos_sim));

  // A NaN in a row that is not a reference row is still counted and still poisons the errors.
  t.ref.rows = {0};
  t.ref.out = {3, 4};
  t.ref.lse = {0};
  const auto b = t.run({3, 4, nan, 0});
  CHECK(b.ref_rows == 1);
  CHECK(b.nonfinite_outputs == 1);
  CHECK(std::isnan(b.rel_err));
  CHECK(std::isnan(b.max_abs_err));
}

TEST_CASE("mass_recall and topk_recall are 1 for a full support", "[metrics]") {
  hand_problem h(false);
  h.p.k = 2;
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0, 1, 2});
  const std::vector<float> out{5, 6, 5, 6, 5, 6};
  const auto s = make_support({{0, 1, 2}, {0, 1, 2}, {0, 1, 2}});
  const auto a = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
  REQUIRE(a.mass_recall);
  CHECK(*a.mass_recall == Approx(1.0).epsilon(1e-14));
  CHECK(*a.mass_recall_p10 == Approx(1.0).epsilon(1e-14));
  REQUIRE(a.topk_recall);
  CHECK(*a.topk_recall == 1.0);
  CHECK(*a.keys_per_query == 3.0);
  CHECK(*a.keys_per_query_max == 3.0);
  CHECK(a.future_keys == 0);
  CHECK(a.rel_err < 1e-6);
}

TEST_CASE("mass_recall and topk_recall of a partial support, by hand", "[metrics]") {
  // Every row: P = (1/7, 2/7, 4/7); exact top-2 = {2, 1}.
  //   row 0, S = {0, 2}: mass 5/7, top-2 hits {2} → 1/2
  //   row 1, S = {1}:    mass 2/7, hits {1}       → 1/2
  //   row 2, S = {}:     mass 0,   hits none      → 0
  // mass_recall = (5/7 + 2/7 + 0)/3 = 1/3; p10 of {0, 2/7, 5/7}: pos 0.2 → 0.2·2/7;
  // topk_recall = 1/3; keys_per_query = 3/3 = 1, max 2.
  hand_problem h(false);
  h.p.k = 2;
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0, 1, 2});
  const std::vector<float> out{5, 6, 5, 6, 5, 6};
  const auto s = make_support({{0, 2}, {1}, {}});
  const auto a = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
  CHECK(*a.mass_recall == Approx(1.0 / 3.0).epsilon(1e-6));
  CHECK(*a.mass_recall_p10 == Approx(0.2 * 2.0 / 7.0).epsilon(1e-6));
  CHECK(*a.topk_recall == Approx(1.0 / 3.0).epsilon(1e-14));
  CHECK(*a.keys_per_query == 1.0);
  CHECK(*a.keys_per_query_max == 2.0);

  SECTION("k above the visible keys is capped: k' = min(k, L) = 3") {
    h.p.k = 5;  // row 0: 2 of 3, row 1: 1 of 3, row 2: 0
    const auto b = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
    CHECK(*b.topk_recall == Approx((2.0 / 3 + 1.0 / 3 + 0) / 3).epsilon(1e-14));
  }
  SECTION("without problem.k there is no topk_recall, the rest is unchanged") {
    h.p.k.reset();
    const auto b = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
    CHECK_FALSE(b.topk_recall);
    CHECK(*b.mass_recall == Approx(1.0 / 3.0).epsilon(1e-6));
  }
  SECTION("a non-positive k is rejected") {
    h.p.k = 0;
    CHECK_THROWS_AS(compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s),
                    std::invalid_argument);
  }
}

TEST_CASE("a key listed twice in a support row counts once", "[metrics]") {
  hand_problem h(false);
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0});
  const std::vector<float> out{5, 6, 5, 6, 5, 6};
  const auto s = make_support({{2, 2}, {}, {}});
  const auto a = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
  CHECK(*a.mass_recall == Approx(4.0 / 7.0).epsilon(1e-6));
}

TEST_CASE("causal: future keys are counted and carry no mass", "[metrics]") {
  // Causal P: row 0 = (1), row 1 = (1/3, 2/3), row 2 = (1/7, 2/7, 4/7).
  //   row 0, S = {0, 1, 2}: keys 1, 2 are in the future → future_keys 2; mass 1; top-1 {0} hit → 1
  //   row 1, S = {0}:       mass 1/3; top-1 {1} missed → 0
  //   row 2, S = {2}:       mass 4/7; top-1 {2} hit → 1
  hand_problem h(true);
  h.p.k = 1;
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0, 1, 2});
  const std::vector<float> out{7, 0, 7.0f / 3, 14.0f / 3, 5, 6};
  const auto s = make_support({{0, 1, 2}, {0}, {2}});
  const auto a = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
  CHECK(a.future_keys == 2);
  CHECK(*a.mass_recall == Approx((1.0 + 1.0 / 3 + 4.0 / 7) / 3).epsilon(1e-6));
  CHECK(*a.topk_recall == Approx(2.0 / 3).epsilon(1e-14));
  CHECK(*a.keys_per_query == Approx(5.0 / 3).epsilon(1e-14));
  CHECK(*a.keys_per_query_max == 3.0);
  CHECK(a.rel_err < 1e-6);

  // The same support in a non-causal problem has no future keys.
  hand_problem n(false);
  const auto ref_n = exact_reference(n.p, n.q.data(), n.k.data(), n.v.data(), {0, 1, 2});
  const auto b = compute_accuracy(n.p, n.q.data(), n.k.data(), n.v.data(), out.data(), ref_n, &s);
  CHECK(b.future_keys == 0);
}

TEST_CASE("topk_recall breaks score ties towards the lower key index", "[metrics]") {
  // q = 0: every score is 0, so P = 1/4 per key and the exact top-2 is {0, 1} by the tie rule.
  //   S = {2,3} → 0, {0,1} → 1, {1,3} → 1/2, {0} → 1/2: topk_recall = 0.5
  //   mass: 1/2, 1/2, 1/2, 1/4 → 0.4375
  problem p;
  p.seq_len = 4;
  p.head_dim = 2;
  p.k = 2;
  const std::vector<float> q(8, 0.0f);
  const auto k = normal_values(8, 2, 2);
  const auto v = normal_values(8, 2, 3);
  const auto ref = exact_reference(p, q.data(), k.data(), v.data(), {0, 1, 2, 3});
  const auto s = make_support({{2, 3}, {0, 1}, {1, 3}, {0}});
  std::vector<float> out(8);
  for (std::size_t e = 0; e < out.size(); ++e) out[e] = static_cast<float>(ref.out[e]);
  const auto a = compute_accuracy(p, q.data(), k.data(), v.data(), out.data(), ref, &s);
  CHECK(*a.topk_recall == Approx(0.5).epsilon(1e-14));
  CHECK(*a.mass_recall == Approx(0.4375).epsilon(1e-14));
}

TEST_CASE("keys_per_query averages every support row, not only the reference rows", "[metrics]") {
  hand_problem h(false);
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0});
  const std::vector<float> out{5, 6, 5, 6, 5, 6};
  const auto s = make_support({{2}, {0, 1}, {0, 1, 2}});
  const auto a = compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &s);
  CHECK(a.ref_rows == 1);
  CHECK(*a.keys_per_query == 2.0);
  CHECK(*a.keys_per_query_max == 3.0);
  CHECK(*a.mass_recall == Approx(4.0 / 7.0).epsilon(1e-6));  // row 0 only
}

TEST_CASE("malformed supports and references are rejected", "[metrics]") {
  hand_problem h(false);
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0, 1, 2});
  const std::vector<float> out{5, 6, 5, 6, 5, 6};
  const auto bad_col = make_support({{3}, {}, {}});
  CHECK_THROWS_AS(compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &bad_col),
                  std::invalid_argument);
  const auto short_support = make_support({{0}, {0}});
  CHECK_THROWS_AS(compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), ref, &short_support),
                  std::invalid_argument);
  reference_result broken = ref;
  broken.lse.pop_back();
  CHECK_THROWS_AS(compute_accuracy(h.p, h.q.data(), h.k.data(), h.v.data(), out.data(), broken, nullptr),
                  std::invalid_argument);
}

TEST_CASE("sampled rows end to end: a full support recalls all mass and every top-k key", "[metrics]") {
  problem p;
  p.batch = 1;
  p.heads = 2;
  p.seq_len = 300;
  p.head_dim = 8;
  p.causal = true;
  p.k = 16;
  p.seed = 5;
  measure_settings m;
  m.ref_full_max_seq_len = 128;
  m.ref_rows_per_head = 48;
  const auto q = normal_values(p.qkv_elements(), 5, 1);
  const auto k = normal_values(p.qkv_elements(), 5, 2);
  const auto v = normal_values(p.qkv_elements(), 5, 3);
  const auto rows = choose_reference_rows(p, m);
  REQUIRE(rows.size() == 96);
  const auto ref = exact_reference(p, q.data(), k.data(), v.data(), rows);

  // The output: naive attention for every row, rounded to fp32.
  std::vector<float> out(p.qkv_elements());
  std::vector<std::vector<std::int32_t>> keys(p.rows());
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(p.rows()); ++r) {
    const auto o = naive_row(p, q.data(), k.data(), v.data(), r);
    for (int d = 0; d < p.head_dim; ++d) out[static_cast<std::size_t>(r * p.head_dim + d)] = static_cast<float>(o[d]);
    for (std::int32_t j = 0; j <= r % p.seq_len; ++j) keys[static_cast<std::size_t>(r)].push_back(j);
  }
  const auto s = make_support(keys);
  const auto a = compute_accuracy(p, q.data(), k.data(), v.data(), out.data(), ref, &s, 1);
  CHECK(a.ref_rows == 96);
  CHECK(a.rel_err < 1e-6);
  CHECK(a.cos_sim == Approx(1.0).epsilon(1e-10));
  CHECK(*a.mass_recall == Approx(1.0).epsilon(1e-13));
  CHECK(*a.topk_recall == 1.0);
  CHECK(*a.keys_per_query == Approx(301.0 / 2).epsilon(1e-14));  // mean of 1..300
  CHECK(*a.keys_per_query_max == 300.0);

  // The thread count does not change anything.
  const auto b = compute_accuracy(p, q.data(), k.data(), v.data(), out.data(), ref, &s, 3);
  CHECK(b.rel_err == a.rel_err);
  CHECK(*b.mass_recall == *a.mass_recall);

  // Dropping the most recent half of each row's keys loses mass, and top-k keys with it.
  for (auto& row : keys) row.resize(row.size() / 2);
  const auto half = make_support(keys);
  const auto c = compute_accuracy(p, q.data(), k.data(), v.data(), out.data(), ref, &half, 2);
  CHECK(*c.mass_recall < 0.9);
  CHECK(*c.topk_recall < 0.9);
  CHECK(*c.mass_recall_p10 <= *c.mass_recall);
}
