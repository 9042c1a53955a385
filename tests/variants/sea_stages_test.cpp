// SEA stages on hand-worked examples: bin spans and their rounding, the per-cell clamp, the budget
// formulas, the grouped top-k and its tie rule, the FlatCSR expansion and its conversion to a support.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/flat_csr.hpp"
#include "attention_variants/sea/topk.hpp"
#include "tests/variants/sea_test_util.hpp"

using namespace sb;
using namespace sb::sea;

namespace {
std::vector<int> bounds_of(upsample_mode m, int L, int K) {
  std::vector<int> b(static_cast<std::size_t>(K) + 1);
  row_bounds(m, L, K, b.data());
  return b;
}
std::vector<std::int32_t> keys_of(int lo, int hi, int keep) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(hi - lo));
  out.resize(static_cast<std::size_t>(emit_cell_keys(lo, hi, keep, out.data())));
  return out;
}
}  // namespace

TEST_CASE("sea bins: csr spans round half away from zero", "[sea]") {
  // L = 10, K = 4: b·10/4 = 0, 2.5, 5, 7.5, 10 → 0, 3, 5, 8, 10.
  CHECK(bounds_of(upsample_mode::csr, 10, 4) == std::vector<int>{0, 3, 5, 8, 10});
  // L = 6, K = 4: 0, 1.5, 3, 4.5, 6 → 0, 2, 3, 5, 6.
  CHECK(bounds_of(upsample_mode::csr, 6, 4) == std::vector<int>{0, 2, 3, 5, 6});
  // K > L: L = 2, K = 4: 0, 0.5, 1, 1.5, 2 → 0, 1, 1, 2, 2 (bins 1 and 3 are empty).
  CHECK(bounds_of(upsample_mode::csr, 2, 4) == std::vector<int>{0, 1, 1, 2, 2});
  CHECK(round_div(5, 2) == 3);
  CHECK(round_div(7, 2) == 4);
  CHECK(round_div(4, 3) == 1);
}

TEST_CASE("sea bins: the nearest rule floor((j+0.5)K/L - 1e-4) on hand-worked rows", "[sea]") {
  // L = 10, K = 4: x_j = 0.4j + 0.2 − 1e-4 → bins 0 0 0 1 1 2 2 2 3 3 (j = 2 gives 0.9999 → 0).
  const int expect[] = {0, 0, 0, 1, 1, 2, 2, 2, 3, 3};
  for (int j = 0; j < 10; ++j) CHECK(nearest_bin(j, 10, 4) == expect[j]);
  CHECK(bounds_of(upsample_mode::nearest, 10, 4) == std::vector<int>{0, 3, 5, 8, 10});
  CHECK(bounds_of(upsample_mode::nearest, 2, 4) == std::vector<int>{0, 1, 1, 2, 2});
  // The paths agree except where the epsilon bites (L/K ≥ 10⁴): L = 30001, K = 3, key 10000 has
  // x = 10000.5·3/30001 − 1e-4 = 0.99992 → bin 0 on the dense path, but round(30001/3) = 10000 starts bin 1
  // on the csr path.
  CHECK(nearest_bin(10000, 30001, 3) == 0);
  CHECK(bin_start(upsample_mode::nearest, 30001, 3, 1) == 10001);
  CHECK(bin_start(upsample_mode::csr, 30001, 3, 1) == 10000);
}

TEST_CASE("sea bins: both partitions are contiguous, cover the row and have min(L, K) non-empty bins", "[sea]") {
  for (auto m : {upsample_mode::nearest, upsample_mode::csr})
    for (int K : {1, 3, 4, 7, 16, 128})
      for (int L = 1; L <= 300; L += (L < 40 ? 1 : 13)) {
        INFO("L=" << L << " K=" << K);
        const auto b = bounds_of(m, L, K);
        int nonempty = 0;
        CHECK(b.front() == 0);
        CHECK(b.back() == L);
        for (int i = 0; i < K; ++i) {
          REQUIRE(b[i] <= b[i + 1]);
          nonempty += b[i + 1] > b[i];
        }
        CHECK(nonempty == std::min(L, K));
        if (m == upsample_mode::nearest)
          for (int i = 0; i < K; ++i)
            for (int j = b[i]; j < b[i + 1]; ++j) REQUIRE(nearest_bin(j, L, K) == i);
      }
}

TEST_CASE("sea clamp: at most k keys per cell, strided from the span's right end", "[sea]") {
  // Span [0, 10), k = 4: hi−1−floor(i·10/4) = 9, 7, 4, 2.
  CHECK(cell_keep(upsample_mode::csr, 10, 4, 1.0) == 4);
  CHECK(keys_of(0, 10, 4) == std::vector<std::int32_t>{2, 4, 7, 9});
  // The dense path keeps every key.
  CHECK(cell_keep(upsample_mode::nearest, 10, 4, 1.0) == 10);
  CHECK(keys_of(5, 8, 3) == std::vector<std::int32_t>{5, 6, 7});
  // Span [100, 107), k = 3: 106 − floor(i·7/3) = 106, 104, 102.
  CHECK(keys_of(100, 107, 3) == std::vector<std::int32_t>{102, 104, 106});
  // k_oversample = 2 subsamples back: csr n = 10, k = 4 → ceil(4/2) = 2 keys: 9, 9 − 5 = 4.
  CHECK(cell_keep(upsample_mode::csr, 10, 4, 2.0) == 2);
  CHECK(keys_of(0, 10, 2) == std::vector<std::int32_t>{4, 9});
  CHECK(cell_keep(upsample_mode::nearest, 5, 4, 2.0) == 3);  // ceil(5/2)
  CHECK(cell_keep(upsample_mode::nearest, 1, 4, 8.0) == 1);  // never below one key
  CHECK(cell_keep(upsample_mode::csr, 0, 4, 1.0) == 0);
}

TEST_CASE("sea budget: B_t = min(C_t, max(1, round(H k k_oversample K / L_t)))", "[sea]") {
  // H = 2, k = 3, K = 8: L = 10 → 4.8 → 5; L = 100 → 0.48 → 1 (never 0); L = 2 → 24 → C_t = 2·2 = 4.
  CHECK(grouped_budget(2, 3, 1.0, 8, 10, 16) == 5);
  CHECK(grouped_budget(2, 3, 1.0, 8, 100, 16) == 1);
  CHECK(grouped_budget(2, 3, 1.0, 8, 2, 4) == 4);
  // Half away from zero: H = 1, k = 1, K = 5, L = 2 → 2.5 → 3; k_oversample 2 doubles it before rounding.
  CHECK(grouped_budget(1, 1, 1.0, 5, 2, 10) == 3);
  CHECK(grouped_budget(1, 1, 2.0, 5, 4, 10) == 3);
  // The spec's long-T gap: H = 1, K = 128, k = 64, T = 32768 → round(0.25) = 0 → 1 cell.
  CHECK(grouped_budget(1, 64, 1.0, 128, 32768, 128) == 1);
  // query mode: per head min(n_t, max(1, round(k K / L))).
  CHECK(query_budget(3, 1.0, 8, 10, 8) == 2);   // 2.4
  CHECK(query_budget(3, 1.0, 8, 4, 4) == 4);    // 6 > 4 non-empty bins
  CHECK(query_budget(1, 1.0, 8, 100, 8) == 1);  // 0.08
}

namespace {
/// Â [B=1, H, Te=T, K] filled from a function of (h, t, bin).
template <typename F>
std::vector<float> ahat_of(int H, int T, int K, F f) {
  std::vector<float> a(static_cast<std::size_t>(H) * T * K);
  for (int h = 0; h < H; ++h)
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < K; ++b) a[(static_cast<std::size_t>(h) * T + t) * K + b] = f(h, t, b);
  return a;
}
std::vector<std::int32_t> row_cells(const selection& s, std::size_t r) {
  return {s.cells.data() + s.row_ptr[r], s.cells.data() + s.row_ptr[r + 1]};
}
}  // namespace

TEST_CASE("sea top-k causal_batch: heads compete for B_t cells, ties to the lower flat index", "[sea]") {
  // Non-causal, H = 2, T = 8, K = 4, k = 1: B_t = round(2·1·4/8) = 1 cell per row.
  problem p = sea_test::make_problem(8, false, 1, 2);
  config c;
  c.K = 4;
  c.k = 1;
  // Row t: head 1 bin (t mod 4) holds 0.9, everything else 0.1/3 or 0.
  auto a = ahat_of(2, 8, 4, [](int h, int t, int b) { return h == 1 && b == t % 4 ? 0.9f : 0.05f; });
  selection s = grouped_topk(p, c, a.data());
  for (int t = 0; t < 8; ++t) CHECK(row_cells(s, t) == std::vector<std::int32_t>{4 + t % 4});
  // k = 3: B_t = 3; all other cells tie at 0.05 → the lowest flat indices 0, 1 (head 0) join the winner.
  c.k = 3;
  s = grouped_topk(p, c, a.data());
  CHECK(row_cells(s, 0) == std::vector<std::int32_t>{0, 1, 4});
  CHECK(row_cells(s, 1) == std::vector<std::int32_t>{0, 1, 5});
  // A NaN never wins over a number.
  a[0] = std::numeric_limits<float>::quiet_NaN();
  s = grouped_topk(p, c, a.data());
  CHECK(row_cells(s, 0) == std::vector<std::int32_t>{1, 2, 4});
}

TEST_CASE("sea top-k causal_batch, causal: early rows keep every non-empty cell", "[sea]") {
  // Causal, H = 2, T = 16, K = 8, k = 2: row t has L = t+1, n = min(L, 8) non-empty bins,
  // B_t = min(2n, max(1, round(32 / L))).
  problem p = sea_test::make_problem(16, true, 2, 2);
  config c;
  c.K = 8;
  c.k = 2;
  auto a = ahat_of(2, 16, 8, [](int h, int t, int b) { return 0.01f * (h * 8 + b) + 0.001f * t; });
  const selection s = grouped_topk(p, c, a.data());
  for (int t = 0; t < 16; ++t) {
    const int L = t + 1, n = std::min(L, 8);
    const auto want = std::min<std::int64_t>(2 * n, std::max<std::int64_t>(1, std::llround(32.0 / L)));
    INFO("t=" << t);
    REQUIRE(s.row_ptr[t + 1] - s.row_ptr[t] == want);
    const auto cells = row_cells(s, t);
    CHECK(std::is_sorted(cells.begin(), cells.end()));
    const auto b = bounds_of(c.upsample, L, 8);
    for (auto cell : cells) CHECK(b[cell % 8 + 1] > b[cell % 8]);  // only non-empty bins
    if (want < 2 * n) CHECK(cells.back() == 15);                    // the largest value is head 1, bin 7
  }
  CHECK(selected_cells(p, c) == s.row_ptr[16]);
}

TEST_CASE("sea top-k query and batch modes", "[sea]") {
  problem p = sea_test::make_problem(8, false, 2, 2);
  config c;
  c.K = 4;
  c.k = 2;  // query: per head round(2·4/8) = 1 cell; batch: round(2·2·4) = 16 cells per sample
  auto a = ahat_of(2, 8, 4, [](int h, int t, int b) { return (b == (t + h) % 4 ? 0.5f : 0.1f) + 0.01f * t; });
  c.topk = topk_mode::query;
  selection s = grouped_topk(p, c, a.data());
  for (int t = 0; t < 8; ++t) CHECK(row_cells(s, t) == std::vector<std::int32_t>{t % 4, 4 + (t + 1) % 4});
  c.topk = topk_mode::batch;
  s = grouped_topk(p, c, a.data());
  CHECK(s.row_ptr[8] == 16);
  CHECK(selected_cells(p, c) == 16);
  // The 16 peak cells (0.5 + 0.01t) beat every 0.1 + 0.01t cell, so each row keeps exactly its two peaks.
  for (int t = 0; t < 8; ++t) CHECK(row_cells(s, t) == std::vector<std::int32_t>{t % 4, 4 + (t + 1) % 4});
  // k = 1: 8 cells go to the largest values, the rows t = 4..7 (two peaks each).
  p.k = 1;
  c.k = 1;
  s = grouped_topk(p, c, a.data());
  for (int t = 0; t < 4; ++t) CHECK(s.row_ptr[t + 1] == s.row_ptr[t]);
  for (int t = 4; t < 8; ++t) CHECK(row_cells(s, t) == std::vector<std::int32_t>{t % 4, 4 + (t + 1) % 4});
}

TEST_CASE("sea FlatCSR: hand-worked expansion, head segments and the harness support", "[sea]") {
  // Non-causal T = 10, H = 2, K = 4, k = 2: spans [0,3) [3,5) [5,8) [8,10). Select head 0 bin 2 and
  // head 1 bins 0, 3 for every row.
  problem p = sea_test::make_problem(10, false, 2, 2);
  config c;
  c.K = 4;
  c.k = 2;
  selection s;
  s.row_ptr = tracked_buffer<std::int64_t>(11);
  s.cells = tracked_buffer<std::int32_t>(30);
  for (int t = 0; t <= 10; ++t) s.row_ptr[t] = 3 * t;
  for (int t = 0; t < 10; ++t) {
    s.cells[3 * t] = 2;
    s.cells[3 * t + 1] = 4;
    s.cells[3 * t + 2] = 7;
  }
  c.upsample = upsample_mode::csr;  // clamp 2: [5,8) → 7, 7−floor(3/2) = 6; [0,3) → 2, 1; [8,10) → 9, 8
  flat_csr csr = upsample(p, c, s);
  CHECK(csr.nnz() == 60);
  CHECK(std::vector<std::int32_t>(csr.segment(3, 0).begin(), csr.segment(3, 0).end()) ==
        std::vector<std::int32_t>{6, 7});
  CHECK(std::vector<std::int32_t>(csr.segment(3, 1).begin(), csr.segment(3, 1).end()) ==
        std::vector<std::int32_t>{1, 2, 8, 9});
  c.upsample = upsample_mode::nearest;  // every key
  csr = upsample(p, c, s);
  CHECK(csr.nnz() == 80);
  CHECK(std::vector<std::int32_t>(csr.segment(9, 1).begin(), csr.segment(9, 1).end()) ==
        std::vector<std::int32_t>{0, 1, 2, 8, 9});
  attention_support sup;
  to_attention_support(csr, sup);
  REQUIRE(sup.rows() == 20);
  // Row (h = 1, t = 4) is support row 1·10 + 4.
  CHECK(std::vector<std::int32_t>(sup.cols.begin() + sup.row_ptr[14], sup.cols.begin() + sup.row_ptr[15]) ==
        std::vector<std::int32_t>{0, 1, 2, 8, 9});
  CHECK(sup.row_ptr[1] - sup.row_ptr[0] == 3);
}
