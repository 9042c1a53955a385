// Tests for the structured dataset: each preset puts the exact softmax mass where it claims (and the
// other presets do not), the shares hold as T grows, determinism per seed, values fp16-safe, options.
#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>

#include "datasets/structured.hpp"
#include "harness/core/errors.hpp"
#include "tests/datasets/test_support.hpp"

using namespace sb;
using Catch::Contains;

namespace {

problem make_problem(int t, bool causal, std::uint64_t seed = 11) {
  problem p;
  p.heads = 4;
  p.seq_len = t;
  p.head_dim = 64;
  p.causal = causal;
  p.seed = seed;
  return p;
}

nlohmann::json options(const std::string& preset) {
  return test::dataset("structured").expand({{"kind", "structured"}, {"preset", preset}}, ".").at(0);
}

/// Mean shares of the exact softmax mass over (head, query) for queries in [q_lo, T) (every
/// `stride`-th): inside the window |i − j| ≤ 32, on the heavy_hitter preset's hitter positions (for
/// the same seed), and on each row's exact top-64 keys.
struct mass_shares {
  double window = 0, hitters = 0, top64 = 0;
};

mass_shares measure(const std::string& preset, const problem& p, int q_lo, int stride = 1) {
  const auto& ds = test::dataset("structured");
  const auto opts = options(preset);
  const qkv_host x = ds.load(opts, p);
  const auto hh = datasets::structured_options_of(options("heavy_hitter"));
  const int t = p.seq_len, d = p.head_dim;
  mass_shares m;
  int rows = 0;
  for (int h = 0; h < p.heads; ++h) {
    const std::vector<int> hitters = datasets::structured_hitter_positions(hh, p.seed, h, t);
    const float* q = x.q.data() + static_cast<std::size_t>(h) * t * d;
    const float* k = x.k.data() + static_cast<std::size_t>(h) * t * d;
    for (int i = q_lo; i < t; i += stride) {
      const auto w = test::attention_row(q, k, t, d, i, p.causal);
      m.window += test::range_mass(w, i - 32, i + 32);
      for (int j : hitters)
        if (j < static_cast<int>(w.size())) m.hitters += w[j];
      m.top64 += test::top_k_mass(w, 64);
      ++rows;
    }
  }
  m.window /= rows;
  m.hitters /= rows;
  m.top64 /= rows;
  return m;
}

}  // namespace

TEST_CASE("structured local: most mass within ±32 of the diagonal, little on far hitters", "[datasets]") {
  for (bool causal : {false, true}) {
    INFO("causal = " << causal);
    const mass_shares m = measure("local", make_problem(512, causal), 0);
    CHECK(m.window > 0.7);
    CHECK(m.hitters < 0.05);
    CHECK(m.top64 > 0.7);
  }
}

TEST_CASE("structured heavy_hitter: most mass on the hitters, little in a local window", "[datasets]") {
  for (bool causal : {false, true}) {
    INFO("causal = " << causal);
    // Queries in the second half are far from the hitters (which lie in the first quarter).
    const mass_shares m = measure("heavy_hitter", make_problem(512, causal), 256);
    CHECK(m.hitters > 0.7);
    CHECK(m.window < 0.1);
  }
}

TEST_CASE("structured mixed: both a local window and the hitters carry a large share", "[datasets]") {
  for (bool causal : {false, true}) {
    INFO("causal = " << causal);
    const mass_shares m = measure("mixed", make_problem(512, causal), 256);
    CHECK(m.window > 0.25);
    CHECK(m.hitters > 0.25);
    CHECK(m.window + m.hitters > 0.8);
  }
}

TEST_CASE("structured: the shares hold at a longer sequence (gaps grow with log T)", "[datasets]") {
  const mass_shares local = measure("local", make_problem(4096, false), 2048, 97);
  CHECK(local.window > 0.7);
  const mass_shares hh = measure("heavy_hitter", make_problem(4096, false), 2048, 97);
  CHECK(hh.hitters > 0.7);
  CHECK(hh.window < 0.05);
}

TEST_CASE("structured: hitter positions are distinct, early, per head and per seed", "[datasets]") {
  const auto o = datasets::structured_options_of(options("heavy_hitter"));
  const auto a = datasets::structured_hitter_positions(o, 1, 0, 1000);
  REQUIRE(a.size() == 4);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i] >= 0);
    CHECK(a[i] < 250);  // hitter_span 0.25
    if (i > 0) CHECK(a[i] > a[i - 1]);
  }
  CHECK(a == datasets::structured_hitter_positions(o, 1, 0, 1000));
  CHECK(a != datasets::structured_hitter_positions(o, 1, 1, 1000));
  CHECK(a != datasets::structured_hitter_positions(o, 2, 0, 1000));
  // Span smaller than the count: every position of the span is a hitter.
  auto tight = o;
  tight.hitters = 5;
  tight.hitter_span = 0.001;
  CHECK(datasets::structured_hitter_positions(tight, 3, 0, 1000) == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(datasets::structured_hitter_positions(datasets::structured_options_of(options("local")), 1, 0, 1000).empty());
}

TEST_CASE("structured: deterministic per seed, different across seeds; values stay fp16-safe", "[datasets]") {
  const auto& ds = test::dataset("structured");
  for (const char* preset : {"local", "heavy_hitter", "mixed"}) {
    INFO(preset);
    const auto opts = options(preset);
    const qkv_host a = ds.load(opts, make_problem(256, false, 1));
    const qkv_host b = ds.load(opts, make_problem(256, false, 1));
    const qkv_host c = ds.load(opts, make_problem(256, false, 2));
    CHECK(a.q == b.q);
    CHECK(a.k == b.k);
    CHECK(a.v == b.v);
    CHECK(a.q != c.q);
    CHECK(a.k != c.k);
    problem big = make_problem(65536, true, 3);
    big.heads = 1;
    const qkv_host x = ds.load(opts, big);
    float mx = 0;
    for (const auto* t : {&x.q, &x.k, &x.v})
      for (float v : *t) mx = std::max(mx, std::abs(v));
    CHECK(mx < 8.0f);
  }
}

TEST_CASE("structured: options, sweeps, labels and checks", "[datasets]") {
  const auto& ds = test::dataset("structured");
  const auto def = ds.expand({{"kind", "structured"}}, ".");
  REQUIRE(def.size() == 1);
  CHECK(def[0]["preset"] == "local");
  CHECK(def[0]["kind"] == "structured");
  CHECK(ds.label(def[0]) == "structured:local");

  const auto presets = ds.expand({{"preset", {"local", "heavy_hitter", "mixed"}}, {"hitters", {2, 8}}}, ".");
  REQUIRE(presets.size() == 6);
  CHECK(presets[0]["preset"] == "local");
  CHECK(presets[1]["preset"] == "local");
  CHECK(presets[1]["hitters"] == 8);
  CHECK(presets[5]["preset"] == "mixed");
  CHECK(ds.label(presets[4]) == "structured:mixed:hitters=2");
  CHECK(ds.label(ds.expand({{"preset", "heavy_hitter"}, {"length_scale", 4}}, ".").at(0)) ==
        "structured:heavy_hitter:length_scale=4");

  CHECK_THROWS_WITH(ds.expand({{"preset", "diagonal"}}, "."),
                    Contains("'preset'") && Contains("local, heavy_hitter, mixed"));
  CHECK_THROWS_WITH(ds.expand({{"noise", -1}}, "."), Contains("'noise'") && Contains("out of range"));
  CHECK_THROWS_WITH(ds.expand({{"hitters", 0}}, "."), Contains("'hitters'") && Contains("out of range"));
  CHECK_THROWS_WITH(ds.expand({{"hitters", 2.5}}, "."), Contains("must be of type int"));
  CHECK_THROWS_WITH(ds.expand({{"strength", 2}}, "."), Contains("unknown option 'strength'"));

  // The gaps: β_H = s_H + ln(T/n_h), clamped at 0; β_L grows with T.
  const auto o = datasets::structured_options_of(options("mixed"));
  CHECK(datasets::structured_hitter_gap(o, 1024) == Approx(2.5 + std::log(256.0)));
  CHECK(datasets::structured_local_gap(o, 8192, 64) > datasets::structured_local_gap(o, 1024, 64) + 1);
  auto weak = o;
  weak.hitter_strength = -10;
  CHECK(datasets::structured_hitter_gap(weak, 64) == 0.0);
  const auto weak_opts = ds.expand({{"preset", "mixed"}, {"hitter_strength", -10}, {"local_strength", -10}}, ".");
  const qkv_host w = ds.load(weak_opts.at(0), make_problem(64, false));
  CHECK(std::all_of(w.q.begin(), w.q.end(), [](float v) { return std::isfinite(v); }));
  CHECK(std::all_of(w.k.begin(), w.k.end(), [](float v) { return std::isfinite(v); }));

  problem p = make_problem(64, false);
  CHECK_FALSE(ds.check(options("heavy_hitter"), p));
  p.head_dim = 4;
  CHECK(ds.check(options("local"), p).value_or("").find("head_dim") != std::string::npos);
  p = make_problem(3, false);
  CHECK(ds.check(options("heavy_hitter"), p).value_or("").find("hitters") != std::string::npos);
  CHECK_FALSE(ds.check(options("local"), p));
  CHECK_THROWS_AS(ds.load(options("heavy_hitter"), p), data_error);
}
