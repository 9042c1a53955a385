// Tests for the gaussian dataset and the shared Philox normal draws: the documented per-element
// formula, determinism per seed, moments, options and labels.
#include <cmath>

#include <catch2/catch.hpp>

#include "datasets/common.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/rng.hpp"
#include "tests/datasets/test_support.hpp"

using namespace sb;
using Catch::Contains;

namespace {
problem small_problem(std::uint64_t seed) {
  problem p;
  p.batch = 2;
  p.heads = 2;
  p.seq_len = 128;
  p.head_dim = 32;
  p.seed = seed;
  return p;
}
}  // namespace

TEST_CASE("philox_normal is Box-Muller on draws 2e and 2e+1, and fill_normal matches it", "[datasets]") {
  for (std::uint64_t e : {0ull, 1ull, 2ull, 7ull, 1000001ull, (1ull << 33) + 5}) {
    counter_rng rng(42, rng_stream::dataset_k);
    rng.seek(2 * e);
    CHECK(datasets::philox_normal(42, rng_stream::dataset_k, e) == rng.normal());
  }
  // Large enough to be split across threads; starts at an odd element.
  std::vector<float> out((1u << 20) + 3);
  datasets::fill_normal(9, rng_stream::dataset_v, 11, out, 2.0);
  for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{262143}, std::size_t{262144},
                        std::size_t{524289}, out.size() - 1})
    CHECK(out[i] == static_cast<float>(2.0 * datasets::philox_normal(9, rng_stream::dataset_v, 11 + i)));
}

TEST_CASE("gaussian: element e of Q, K, V follows the documented formula", "[datasets]") {
  const auto& ds = test::dataset("gaussian");
  const auto opts = ds.expand(nlohmann::json::object(), ".").at(0);
  const problem p = small_problem(5);
  const qkv_host x = ds.load(opts, p);
  REQUIRE(x.q.size() == p.qkv_elements());
  REQUIRE(x.k.size() == p.qkv_elements());
  REQUIRE(x.v.size() == p.qkv_elements());
  for (std::uint64_t e : {0ull, 1ull, 4095ull, 16383ull}) {
    CHECK(x.q[e] == static_cast<float>(datasets::philox_normal(5, rng_stream::dataset_q, e)));
    CHECK(x.k[e] == static_cast<float>(datasets::philox_normal(5, rng_stream::dataset_k, e)));
    CHECK(x.v[e] == static_cast<float>(datasets::philox_normal(5, rng_stream::dataset_v, e)));
  }
}

TEST_CASE("gaussian: deterministic per seed, different across seeds and tensors", "[datasets]") {
  const auto& ds = test::dataset("gaussian");
  const auto opts = ds.expand({{"kind", "gaussian"}}, ".").at(0);
  const qkv_host a = ds.load(opts, small_problem(1));
  const qkv_host b = ds.load(opts, small_problem(1));
  const qkv_host c = ds.load(opts, small_problem(2));
  CHECK(a.q == b.q);
  CHECK(a.k == b.k);
  CHECK(a.v == b.v);
  CHECK(a.q != c.q);
  CHECK(a.k != c.k);
  CHECK(a.v != c.v);
  CHECK(a.q != a.k);
  CHECK(a.k != a.v);
}

TEST_CASE("gaussian: mean about 0 and variance about 1 (scale² with scale)", "[datasets]") {
  const auto& ds = test::dataset("gaussian");
  problem p = small_problem(3);
  p.seq_len = 1024;  // 131072 values per tensor: the mean's standard error is 0.003
  for (double scale : {1.0, 0.5}) {
    const auto opts = ds.expand({{"scale", scale}}, ".").at(0);
    const qkv_host x = ds.load(opts, p);
    for (const auto* t : {&x.q, &x.k, &x.v}) {
      double sum = 0, sq = 0;
      for (float v : *t) {
        sum += v;
        sq += static_cast<double>(v) * v;
      }
      const double n = static_cast<double>(t->size());
      const double mean = sum / n, var = sq / n - mean * mean;
      CHECK(std::abs(mean) < 0.015 * scale);
      CHECK(var == Approx(scale * scale).epsilon(0.02));
    }
  }
}

TEST_CASE("gaussian: options, sweeps and labels", "[datasets]") {
  const auto& ds = test::dataset("gaussian");
  const auto one = ds.expand(nlohmann::json::object(), ".");
  REQUIRE(one.size() == 1);
  CHECK(one[0] == nlohmann::json{{"kind", "gaussian"}, {"scale", 1.0}});
  CHECK(ds.label(one[0]) == "gaussian");

  const auto swept = ds.expand({{"kind", "gaussian"}, {"scale", {0.5, 2}}}, ".");
  REQUIRE(swept.size() == 2);
  CHECK(swept[0]["scale"] == 0.5);
  CHECK(swept[1]["scale"] == 2.0);
  CHECK(ds.label(swept[0]) == "gaussian:scale=0.5");

  CHECK_THROWS_AS(ds.expand({{"scael", 1}}, "."), config_error);
  CHECK_THROWS_WITH(ds.expand({{"scael", 1}}, "."), Contains("unknown option 'scael'") && Contains("scale"));
  CHECK_THROWS_WITH(ds.expand({{"scale", -1}}, "."), Contains("'scale'") && Contains("out of range"));
  CHECK_THROWS_WITH(ds.expand({{"scale", "big"}}, "."), Contains("must be of type float"));
  CHECK_THROWS_WITH(ds.expand({{"scale", nlohmann::json::array()}}, "."), Contains("empty list"));
  CHECK_THROWS_WITH(ds.expand({{"kind", "npy"}}, "."), Contains("kind"));
  CHECK_THROWS_WITH(ds.expand(nlohmann::json::array(), "."), Contains("must be a table"));
}
