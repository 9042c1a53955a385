// dense and dense_stream: both exact, and equal to each other, including at sizes that are not
// multiples of dense_stream's tiles; large logits stay finite.
#include <catch2/catch.hpp>

#include <cmath>

#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"

using namespace sb;

namespace {
std::vector<float> run_variant(const char* name, const problem& p, const std::vector<float>& q,
                               const std::vector<float>& k, const std::vector<float>& v,
                               std::map<std::string, param_value> overrides = {}) {
  const auto* var = variant_registry::instance().find(name);
  const auto params = var->parameters().resolve(name, overrides);
  auto inst = var->instantiate(p, params, device_kind::cpu);
  std::vector<float> out(p.qkv_elements());
  run_context ctx;
  inst->run({q.data(), k.data(), v.data()}, out.data(), ctx);
  return out;
}
std::vector<float> normal(std::size_t n, std::uint64_t stream, double scale = 1) {
  counter_rng rng(7, stream);
  std::vector<float> x(n);
  for (auto& e : x) e = static_cast<float>(scale * rng.normal());
  return x;
}
}  // namespace

TEST_CASE("dense and dense_stream agree with each other", "[dense]") {
  for (bool causal : {false, true}) {
    for (int t : {1, 2, 37, 128, 300}) {
      problem p;
      p.heads = 3;
      p.seq_len = t;
      p.head_dim = 24;
      p.causal = causal;
      const auto q = normal(p.qkv_elements(), 1), k = normal(p.qkv_elements(), 2), v = normal(p.qkv_elements(), 3);
      const auto a = run_variant("dense", p, q, k, v);
      const auto b = run_variant("dense_stream", p, q, k, v, {{"query_block", std::int64_t{16}}, {"key_block", std::int64_t{32}}});
      double num = 0, den = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += a[i] * a[i];
      }
      INFO("T=" << t << " causal=" << causal);
      CHECK(std::sqrt(num / den) < 1e-6);
    }
  }
}

TEST_CASE("large logits stay finite in both dense variants", "[dense]") {
  problem p;
  p.heads = 1;
  p.seq_len = 64;
  p.head_dim = 16;
  const auto q = normal(p.qkv_elements(), 1, 300.0), k = normal(p.qkv_elements(), 2, 300.0),
             v = normal(p.qkv_elements(), 3);
  for (const char* name : {"dense", "dense_stream"})
    for (float x : run_variant(name, p, q, k, v)) REQUIRE(std::isfinite(x));
}

TEST_CASE("causal row 0 of dense attention is V's row 0", "[dense]") {
  problem p;
  p.heads = 1;
  p.seq_len = 5;
  p.head_dim = 4;
  p.causal = true;
  const auto q = normal(p.qkv_elements(), 1), k = normal(p.qkv_elements(), 2), v = normal(p.qkv_elements(), 3);
  for (const char* name : {"dense", "dense_stream"}) {
    const auto out = run_variant(name, p, q, k, v);
    for (int c = 0; c < 4; ++c) CHECK(out[c] == Approx(v[c]));
  }
}
