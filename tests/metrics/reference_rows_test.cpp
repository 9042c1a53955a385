// Tests for the reference-row sample: all rows at small T; above the threshold a deterministic,
// sorted, duplicate-free sample per (b, h) with both ends and every position decile covered.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "harness/metrics/reference_rows.hpp"

using namespace sb;

namespace {
problem shape(int b, int h, int t, std::uint64_t seed = 0) {
  problem p;
  p.batch = b;
  p.heads = h;
  p.seq_len = t;
  p.head_dim = 4;
  p.seed = seed;
  return p;
}

/// Positions sampled for head bh, in order.
std::vector<std::int64_t> head_positions(const std::vector<std::int64_t>& rows, std::int64_t bh, std::int64_t t) {
  std::vector<std::int64_t> pos;
  for (std::int64_t r : rows)
    if (r / t == bh) pos.push_back(r % t);
  return pos;
}
}  // namespace

TEST_CASE("every row is a reference row when T is at most ref_full_max_seq_len", "[metrics]") {
  measure_settings m;
  m.ref_full_max_seq_len = 5;
  const auto rows = choose_reference_rows(shape(2, 3, 5), m);
  REQUIRE(rows.size() == 30);
  for (std::size_t r = 0; r < rows.size(); ++r) CHECK(rows[r] == static_cast<std::int64_t>(r));
}

TEST_CASE("every row is a reference row when ref_rows_per_head covers T", "[metrics]") {
  measure_settings m;
  m.ref_full_max_seq_len = 8;
  m.ref_rows_per_head = 50;
  const auto rows = choose_reference_rows(shape(1, 2, 40), m);
  CHECK(rows.size() == 80);
  CHECK(rows.front() == 0);
  CHECK(rows.back() == 79);
}

TEST_CASE("sampled rows: counts, both ends, even decile strata, sorted and unique", "[metrics]") {
  measure_settings m;  // defaults: threshold 1024, 256 rows per head
  const std::int64_t t = 2000;
  const auto rows = choose_reference_rows(shape(2, 3, static_cast<int>(t), 7), m);
  REQUIRE(rows.size() == 6u * 256u);
  CHECK(std::is_sorted(rows.begin(), rows.end()));
  CHECK(std::adjacent_find(rows.begin(), rows.end()) == rows.end());  // sorted + no equal neighbours = unique
  CHECK(rows.front() >= 0);
  CHECK(rows.back() < 6 * t);

  for (std::int64_t bh = 0; bh < 6; ++bh) {
    const auto pos = head_positions(rows, bh, t);
    REQUIRE(pos.size() == 256);
    const std::set<std::int64_t> have(pos.begin(), pos.end());
    for (std::int64_t i = 0; i < 16; ++i) {
      CHECK(have.count(i) == 1);
      CHECK(have.count(t - 1 - i) == 1);
    }
    // 256 − 32 = 224 stratified rows: decile d holds floor((d+1)·22.4) − floor(d·22.4) of them.
    for (std::int64_t d = 0; d < 10; ++d) {
      const std::int64_t lo = d * t / 10, hi = (d + 1) * t / 10;
      const auto inside = std::count_if(pos.begin(), pos.end(), [&](std::int64_t i) {
        return i >= lo && i < hi && i >= 16 && i < t - 16;
      });
      CHECK(inside == (d + 1) * 224 / 10 - d * 224 / 10);
    }
  }
  // Heads draw independently: head 0 and head 1 do not share their stratified positions.
  CHECK(head_positions(rows, 0, t) != head_positions(rows, 1, t));
}

TEST_CASE("sampled rows are a pure function of the seed", "[metrics]") {
  measure_settings m;
  m.ref_full_max_seq_len = 100;
  m.ref_rows_per_head = 64;
  const auto a = choose_reference_rows(shape(1, 2, 1000, 3), m);
  const auto b = choose_reference_rows(shape(1, 2, 1000, 3), m);
  const auto c = choose_reference_rows(shape(1, 2, 1000, 4), m);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(c.size() == 128);
}

TEST_CASE("sampled rows fill a short interior whose edge deciles hold no free rows", "[metrics]") {
  // T = 40: deciles are 4 wide, the edges take [0,16) and [24,40), so only deciles 4 and 5 can take
  // the 6 stratified rows; the rest of their quotas must move there.
  measure_settings m;
  m.ref_full_max_seq_len = 0;
  m.ref_rows_per_head = 38;
  const auto rows = choose_reference_rows(shape(1, 1, 40, 1), m);
  REQUIRE(rows.size() == 38);
  CHECK(std::adjacent_find(rows.begin(), rows.end()) == rows.end());
  CHECK(std::is_sorted(rows.begin(), rows.end()));
  CHECK(rows.front() == 0);
  CHECK(rows.back() == 39);
  const auto middle = std::count_if(rows.begin(), rows.end(), [](std::int64_t i) { return i >= 16 && i < 24; });
  CHECK(middle == 6);
}

TEST_CASE("fewer rows than the two edges split between the ends", "[metrics]") {
  measure_settings m;
  m.ref_full_max_seq_len = 10;
  m.ref_rows_per_head = 5;
  const auto rows = choose_reference_rows(shape(1, 1, 100), m);
  CHECK(rows == std::vector<std::int64_t>{0, 1, 2, 98, 99});
}
