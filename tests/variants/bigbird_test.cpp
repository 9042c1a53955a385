// bigbird: the ITC layout (window, global and random blocks, per-row key counts, partial last block),
// the documented random-block draw, determinism per seed, the full-attention fallback and its column,
// the causal extension (no future keys, canary), and the output against fp64 attention over the support.
#include <algorithm>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/bigbird/bigbird_layout.hpp"
#include "attention_variants/sparse_common/naive_reference.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/rng.hpp"

using namespace sb;
namespace naive = sb::sparse::naive;

namespace {

std::vector<std::int32_t> row_blocks(const bigbird::layout& l, int h, int q) {
  const std::size_t cell = static_cast<std::size_t>(h) * l.nb + q;
  return {l.blocks.begin() + l.ptr[cell], l.blocks.begin() + l.ptr[cell + 1]};
}
std::vector<std::int32_t> random_blocks(const bigbird::layout& l, int h, int q) {
  const std::size_t cell = static_cast<std::size_t>(h) * l.nb + q;
  return {l.random.begin() + l.random_ptr[cell], l.random.begin() + l.random_ptr[cell + 1]};
}
/// Key blocks touched by a support row.
std::set<int> blocks_of(const std::vector<std::int32_t>& keys, int b) {
  std::set<int> s;
  for (std::int32_t j : keys) s.insert(j / b);
  return s;
}

}  // namespace

TEST_CASE("bigbird: HF's fallback rule ceil(T/b) <= 5+2r", "[bigbird]") {
  CHECK(bigbird::falls_back(704, 64, 3));
  CHECK_FALSE(bigbird::falls_back(705, 64, 3));  // 12 blocks (the last partial) > 11
  CHECK(bigbird::falls_back(64, 64, 0));
  CHECK(bigbird::falls_back(320, 64, 0));
  CHECK_FALSE(bigbird::falls_back(384, 64, 0));
}

TEST_CASE("bigbird: non-causal layout has window, global and r random blocks", "[bigbird]") {
  const int b = 4, nb = 16, r = 3, heads = 3;
  const bigbird::layout l = bigbird::make_layout(nb * b, heads, b, r, false, 42);
  REQUIRE_FALSE(l.fallback);
  REQUIRE(l.nb == nb);
  for (int h = 0; h < heads; ++h) {
    CHECK(l.all_keys(0));
    CHECK(l.all_keys(nb - 1));
    for (int q = 1; q <= nb - 2; ++q) {
      INFO("h=" << h << " q=" << q);
      CHECK_FALSE(l.all_keys(q));
      const auto rnd = random_blocks(l, h, q);
      REQUIRE(rnd.size() == static_cast<std::size_t>(r));
      const std::set<int> fixed{0, nb - 1, q - 1, q, q + 1};
      for (std::int32_t x : rnd) {
        CHECK(fixed.count(x) == 0);  // never window or global
        CHECK(x >= 1);
        CHECK(x <= nb - 2);
      }
      CHECK(std::set<int>(rnd.begin(), rnd.end()).size() == rnd.size());  // no duplicates
      std::set<int> want = fixed;
      want.insert(rnd.begin(), rnd.end());
      const auto blocks = row_blocks(l, h, q);
      CHECK(std::vector<int>(want.begin(), want.end()) == std::vector<int>(blocks.begin(), blocks.end()));
      // Middle rows (5+r)·b keys; the second and second-to-last rows (4+r)·b, as in HF.
      const int expect = (q == 1 || q == nb - 2) ? (4 + r) * b : (5 + r) * b;
      for (int i = q * b; i < (q + 1) * b; ++i) CHECK(l.row_size(h, i) == expect);
    }
    for (int i : {0, b - 1, (nb - 1) * b, nb * b - 1}) CHECK(l.row_size(h, i) == nb * b);
  }
}

TEST_CASE("bigbird: random blocks follow the documented counter_rng draw", "[bigbird]") {
  const int b = 2, nb = 20, r = 4, heads = 2;
  const std::uint64_t seed = 77;
  const bigbird::layout l = bigbird::make_layout(nb * b, heads, b, r, false, seed);
  counter_rng rng(seed, rng_stream::blocks);
  for (int h = 0; h < heads; ++h)
    for (int q = 1; q <= nb - 2; ++q) {
      std::vector<std::int32_t> cand;
      for (int c = 1; c <= nb - 2; ++c)
        if (c < q - 1 || c > q + 1) cand.push_back(c);
      rng.seek((static_cast<std::uint64_t>(h) * nb + q) * r);
      for (int t = 0; t < r; ++t)
        std::swap(cand[t], cand[t + rng.below(cand.size() - t)]);
      cand.resize(r);
      std::sort(cand.begin(), cand.end());
      CHECK(random_blocks(l, h, q) == cand);
    }
}

TEST_CASE("bigbird: same seed same layout, other seeds and heads differ", "[bigbird]") {
  const bigbird::layout a = bigbird::make_layout(256, 4, 8, 3, false, 5);
  const bigbird::layout b = bigbird::make_layout(256, 4, 8, 3, false, 5);
  const bigbird::layout c = bigbird::make_layout(256, 4, 8, 3, false, 6);
  CHECK(a.random == b.random);
  CHECK(a.blocks == b.blocks);
  CHECK(a.random != c.random);
  bool heads_differ = false;
  for (int q = 1; q < a.nb - 1; ++q) heads_differ |= random_blocks(a, 0, q) != random_blocks(a, 1, q);
  CHECK(heads_differ);
  // Through the variant: the seed of the case changes the output.
  problem p{.batch = 1, .heads = 2, .seq_len = 128, .head_dim = 8, .seed = 1};
  const std::map<std::string, param_value> params{{"block", std::int64_t{8}}};
  const naive::inputs in = naive::random_inputs(p, 3);
  const auto r1 = naive::run_variant("bigbird", in, params);
  const auto r1b = naive::run_variant("bigbird", in, params);
  naive::inputs in2 = in;
  in2.p.seed = 2;
  const auto r2 = naive::run_variant("bigbird", in2, params);
  CHECK(r1.out == r1b.out);
  CHECK(r1.out != r2.out);
}

TEST_CASE("bigbird: support and output match the layout, partial last block included", "[bigbird]") {
  for (bool causal : {false, true}) {
    problem p{.batch = 2, .heads = 2, .seq_len = 70, .head_dim = 16, .causal = causal, .seed = 9};
    const int b = 4;  // 18 blocks, the last one 2 keys long
    const naive::inputs in = naive::random_inputs(p, 14, 2.0);
    const auto r = naive::run_variant("bigbird", in, {{"block", std::int64_t{b}}, {"random_blocks", std::int64_t{2}}});
    const bigbird::layout l = bigbird::make_layout(70, 2, b, 2, causal, 9);
    REQUIRE(l.nb == 18);
    CHECK(r.extras.at("bigbird_full_fallback") == 0.0);
    std::vector<std::int32_t> buf(70);
    for (int bi = 0; bi < 2; ++bi)
      for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 70; ++i) {
          const auto keys = naive::row_keys(r.support, (static_cast<std::size_t>(bi) * 2 + h) * 70 + i);
          CHECK(std::is_sorted(keys.begin(), keys.end()));
          CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
          const int n = l.row(h, i, buf.data());
          CHECK(keys == std::vector<std::int32_t>(buf.begin(), buf.begin() + n));
          for (std::int32_t j : keys) {
            CHECK(j < 70);
            if (causal) CHECK(j <= i);
          }
          if (!causal && (i / b == 0 || i / b == 17)) CHECK(keys.size() == 70u);  // global rows
          if (!causal && i / b == 8) CHECK(blocks_of(keys, b).count(17) == 1);   // the partial global block
        }
    CHECK(naive::rel_err(r.out, naive::attend_support(in, r.support)) < 1e-5);
    CHECK(naive::rel_err(r.out, naive::dense(in)) > 1e-3);
  }
}

TEST_CASE("bigbird: causal layout drops future and trailing global blocks, masks the diagonal", "[bigbird]") {
  const int b = 4, nb = 12, r = 3;
  const bigbird::layout l = bigbird::make_layout(nb * b, 2, b, r, true, 3);
  REQUIRE_FALSE(l.fallback);
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < nb; ++q) {
      INFO("q=" << q);
      CHECK_FALSE(l.all_keys(q));
      const auto rnd = random_blocks(l, h, q);
      CHECK(rnd.size() == static_cast<std::size_t>(std::clamp(q - 2, 0, r)));
      for (std::int32_t x : rnd) {
        CHECK(x >= 1);
        CHECK(x <= q - 2);
      }
      std::set<int> want{0, std::max(q - 1, 0), q};
      want.insert(rnd.begin(), rnd.end());
      const auto blocks = row_blocks(l, h, q);
      CHECK(std::vector<int>(want.begin(), want.end()) == std::vector<int>(blocks.begin(), blocks.end()));
      for (int i = q * b; i < (q + 1) * b; ++i) {
        const int full = static_cast<int>(want.size()) - 1;  // blocks before the diagonal
        CHECK(l.row_size(h, i) == (q == 0 ? i + 1 : full * b + (i - q * b + 1)));
      }
    }
}

TEST_CASE("bigbird: causal canary (bitwise)", "[bigbird]") {
  problem p{.batch = 1, .heads = 2, .seq_len = 96, .head_dim = 8, .causal = true, .seed = 4};
  const std::map<std::string, param_value> params{{"block", std::int64_t{4}}, {"random_blocks", std::int64_t{3}}};
  const naive::inputs in = naive::random_inputs(p, 19);
  const auto base = naive::run_variant("bigbird", in, params, false);
  const int cut = 45;
  naive::inputs changed = in;
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int j = cut + 1; j < p.seq_len; ++j)
      for (int c = 0; c < p.head_dim; ++c) {
        changed.k[in.at(bh, j) + c] *= -2.0f;
        changed.v[in.at(bh, j) + c] += 1.0f;
      }
  const auto after = naive::run_variant("bigbird", changed, params, false);
  for (std::size_t bh = 0; bh < 2; ++bh)
    for (int i = 0; i <= cut; ++i)
      for (int c = 0; c < p.head_dim; ++c) CHECK(base.out[in.at(bh, i) + c] == after.out[in.at(bh, i) + c]);
}

TEST_CASE("bigbird: the fallback is full attention, reported in its column, or skipped", "[bigbird]") {
  const attention_variant* v = variant_registry::instance().find("bigbird");
  REQUIRE(v);
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 700, .head_dim = 16, .causal = causal};  // 11 blocks of 64
    const naive::inputs in = naive::random_inputs(p, 2);
    const auto r = naive::run_variant("bigbird", in);
    CHECK(r.extras.at("bigbird_full_fallback") == 1.0);
    CHECK(naive::rel_err(r.out, naive::dense(in)) < 1e-5);
    const param_set skip = v->parameters().resolve("t", {{"fallback", std::string("skip")}});
    const auto why = unsupported_reason(*v, p, skip, device_kind::cpu);
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("too small"));
    CHECK_THROWS_AS(v->instantiate(p, skip, device_kind::cpu), unsupported_case);
    p.seq_len = 705;  // 12 blocks: the sparse pattern
    CHECK_FALSE(unsupported_reason(*v, p, skip, device_kind::cpu));
  }
  problem p{.batch = 1, .heads = 1, .seq_len = 64, .head_dim = 16};
  const auto exact = v->exact_setting(p);
  REQUIRE(exact);
  const naive::inputs in = naive::random_inputs(p, 3);
  const auto r = naive::run_variant("bigbird", in, exact->params);
  CHECK(r.extras.at("bigbird_full_fallback") == 1.0);
  CHECK(naive::rel_err(r.out, naive::dense(in)) < 1e-5);
}

TEST_CASE("bigbird: budget ladder avoids the fallback and the error falls", "[bigbird]") {
  const attention_variant* v = variant_registry::instance().find("bigbird");
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 4, .seq_len = 256, .head_dim = 16, .causal = causal};
    const auto ladder = v->budget_ladder(p);
    REQUIRE(ladder.size() >= 3);
    std::vector<double> err(ladder.size(), 0.0);
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      p.seed = seed;
      const naive::inputs in = naive::random_inputs(p, seed);
      const std::vector<double> dense = naive::dense(in);
      for (std::size_t s = 0; s < ladder.size(); ++s) {
        const auto r = naive::run_variant("bigbird", in, ladder[s].params, false);
        CHECK(r.extras.at("bigbird_full_fallback") == 0.0);
        err[s] += naive::rel_err(r.out, dense);
      }
    }
    for (std::size_t s = 1; s < err.size(); ++s) CHECK(err[s] < err[s - 1]);
  }
}

TEST_CASE("bigbird: executed FLOPs count the layout's pairs", "[bigbird]") {
  const attention_variant* v = variant_registry::instance().find("bigbird");
  const param_set params = v->parameters().resolve("t", {{"block", std::int64_t{4}}});
  problem p{.batch = 2, .heads = 3, .seq_len = 64, .head_dim = 16, .seed = 7};
  const bigbird::layout l = bigbird::make_layout(64, 3, 4, 3, false, 7);
  CHECK(v->flops(p, params).executed == Approx(2.0 * l.pairs() * 2 * (2 * 16)));
  CHECK(l.pairs() < 3.0 * 64 * 64);
}
