// Tests for the fp64 exact reference: hand-computed softmax rows, a naive long-double computation
// (causal and not), row order and duplicates, thread-count independence, and overflow safety.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "harness/metrics/exact_reference.hpp"
#include "tests/metrics/metrics_test_util.hpp"

using namespace sb;
using namespace sb::metrics_test;

TEST_CASE("exact_reference matches the hand-computed non-causal rows", "[metrics]") {
  const hand_problem h(false);
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0, 1, 2});
  REQUIRE(ref.out.size() == 6);
  REQUIRE(ref.lse.size() == 3);
  for (int n = 0; n < 3; ++n) {
    CHECK(ref.out[2 * n] == Approx(5.0).epsilon(1e-6));
    CHECK(ref.out[2 * n + 1] == Approx(6.0).epsilon(1e-6));
    CHECK(ref.lse[n] == Approx(std::log(7.0)).epsilon(1e-6));
  }
}

TEST_CASE("exact_reference matches the hand-computed causal rows", "[metrics]") {
  const hand_problem h(true);
  const auto ref = exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {0, 1, 2});
  CHECK(ref.out[0] == Approx(7.0).epsilon(1e-12));
  CHECK(ref.out[1] == Approx(0.0).margin(1e-12));
  CHECK(ref.lse[0] == Approx(0.0).margin(1e-12));
  CHECK(ref.out[2] == Approx(7.0 / 3).epsilon(1e-6));
  CHECK(ref.out[3] == Approx(14.0 / 3).epsilon(1e-6));
  CHECK(ref.lse[1] == Approx(std::log(3.0)).epsilon(1e-6));
  CHECK(ref.out[4] == Approx(5.0).epsilon(1e-6));
  CHECK(ref.out[5] == Approx(6.0).epsilon(1e-6));
  CHECK(ref.lse[2] == Approx(std::log(7.0)).epsilon(1e-6));
}

TEST_CASE("exact_reference agrees with a naive long-double computation", "[metrics]") {
  for (const bool causal : {false, true}) {
    problem p;
    p.batch = 2;
    p.heads = 2;
    p.seq_len = 37;  // not a multiple of the row group, so partial groups are exercised
    p.head_dim = 5;
    p.causal = causal;
    const auto q = normal_values(p.qkv_elements(), 11, 1);
    const auto k = normal_values(p.qkv_elements(), 11, 2);
    const auto v = normal_values(p.qkv_elements(), 11, 3);
    std::vector<std::int64_t> rows;
    for (std::int64_t r = 0; r < static_cast<std::int64_t>(p.rows()); ++r) rows.push_back(r);
    const auto ref = exact_reference(p, q.data(), k.data(), v.data(), rows, 1);
    REQUIRE(ref.rows == rows);
    double worst = 0;
    for (std::size_t n = 0; n < rows.size(); ++n) {
      long double lse = 0;
      const auto o = naive_row(p, q.data(), k.data(), v.data(), rows[n], &lse);
      for (int d = 0; d < p.head_dim; ++d)
        worst = std::max(worst, static_cast<double>(std::abs(ref.out[n * 5 + d] - o[static_cast<std::size_t>(d)])));
      worst = std::max(worst, static_cast<double>(std::abs(ref.lse[n] - lse)));
    }
    INFO("causal = " << causal);
    CHECK(worst < 1e-12);
  }
}

TEST_CASE("exact_reference causal row i ignores keys after i", "[metrics]") {
  problem p;
  p.seq_len = 12;
  p.head_dim = 3;
  p.causal = true;
  const auto q = normal_values(p.qkv_elements(), 5, 1);
  auto k = normal_values(p.qkv_elements(), 5, 2);
  auto v = normal_values(p.qkv_elements(), 5, 3);
  const auto before = exact_reference(p, q.data(), k.data(), v.data(), {4});
  for (std::size_t e = 5 * 3; e < k.size(); ++e) k[e] = v[e] = 1e3f;  // disturb keys 5.. only
  const auto after = exact_reference(p, q.data(), k.data(), v.data(), {4});
  CHECK(before.out == after.out);
  CHECK(before.lse == after.lse);
}

TEST_CASE("exact_reference keeps the requested order, duplicates, and is thread-count independent", "[metrics]") {
  problem p;
  p.batch = 1;
  p.heads = 3;
  p.seq_len = 20;
  p.head_dim = 4;
  const auto q = normal_values(p.qkv_elements(), 9, 1);
  const auto k = normal_values(p.qkv_elements(), 9, 2);
  const auto v = normal_values(p.qkv_elements(), 9, 3);
  const std::vector<std::int64_t> rows{45, 3, 59, 3, 20, 0, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
  const auto one = exact_reference(p, q.data(), k.data(), v.data(), rows, 1);
  const auto many = exact_reference(p, q.data(), k.data(), v.data(), rows, 4);
  CHECK(one.rows == rows);
  CHECK(one.out == many.out);  // bitwise
  CHECK(one.lse == many.lse);
  for (std::size_t n = 0; n < rows.size(); ++n) {
    const auto o = naive_row(p, q.data(), k.data(), v.data(), rows[n]);
    for (int d = 0; d < 4; ++d) CHECK(one.out[n * 4 + d] == Approx(static_cast<double>(o[d])).margin(1e-12));
  }
  CHECK(std::equal(one.out.begin() + 4, one.out.begin() + 8, one.out.begin() + 12));  // rows 1 and 3 are both r=3
}

TEST_CASE("exact_reference subtracts the row max, so huge scores do not overflow", "[metrics]") {
  // scores: τ·q·k = (1/√2)·100·20 ≈ 1414.2 for key 0 and 0 for key 1; exp(1414) overflows fp64.
  problem p;
  p.seq_len = 2;
  p.head_dim = 2;
  const std::vector<float> q{100, 0, 100, 0}, k{20, 0, 0, 0}, v{1, 2, 3, 4};
  const auto ref = exact_reference(p, q.data(), k.data(), v.data(), {0});
  CHECK(ref.out[0] == Approx(1.0).epsilon(1e-15));
  CHECK(ref.out[1] == Approx(2.0).epsilon(1e-15));
  CHECK(ref.lse[0] == Approx(2000.0 / std::sqrt(2.0)).epsilon(1e-15));
}

TEST_CASE("exact_reference rejects row ids outside the problem", "[metrics]") {
  const hand_problem h(false);
  CHECK_THROWS_AS(exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {3}), std::invalid_argument);
  CHECK_THROWS_AS(exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {-1}), std::invalid_argument);
  CHECK(exact_reference(h.p, h.q.data(), h.k.data(), h.v.data(), {}).out.empty());
}
