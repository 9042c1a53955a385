// scatterbrain (baselines.md §10): sum = Reformer output + Performer output; corrected = Chen et al.'s
// combination, which is exact dense when the support holds every key and the Performer when it holds
// none, and matches its fp64 formula in between.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/reformer/lsh.hpp"
#include "attention_variants/scatterbrain/corrected.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "tests/variants/variant_test_util.hpp"

namespace {

using namespace sb;

using variant_test::exact_attention;
using variant_test::rel_err;
using variant_test::run_variant;

std::vector<float> gaussian(std::size_t n, std::uint64_t seed, double sigma = 1.0) {
  return variant_test::random_tensor(n, seed, 96, sigma);
}

/// corrected_head on one head with a given support function.
std::vector<float> corrected(const favor::projection& w, bool causal, int t, int d, const std::vector<float>& q,
                             const std::vector<float>& k, const std::vector<float>& v, const scatterbrain::support_fn& s,
                             int chunk = 16) {
  std::vector<float> out(std::size_t(t) * d);
  scatterbrain::corrected_workspace ws(w.m, t, d, chunk, causal);
  scatterbrain::corrected_head(w, 1e-6f, causal,
                               {.q = q.data(), .ldq = d, .k = k.data(), .ldk = d, .v = v.data(), .ldv = d,
                                .out = out.data(), .ldo = d, .t = t, .dv = d},
                               s, ws);
  return out;
}

}  // namespace

TEST_CASE("scatterbrain: sum equals the Reformer output plus the Performer output (P10)", "[scatterbrain]") {
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 150, .head_dim = 16, .causal = causal, .k = 16, .seed = 5};
    const auto q = gaussian(p.qkv_elements(), 1), k = gaussian(p.qkv_elements(), 2), v = gaussian(p.qkv_elements(), 3);
    const auto sum = run_variant("scatterbrain", p, {{"n_hashes", std::int64_t{4}}, {"nbf", std::int64_t{2}}}, q, k, v);
    const auto ref = run_variant("reformer", p, {{"n_hashes", std::int64_t{4}}}, q, k, v);
    problem pp = p;
    pp.k.reset();
    const auto perf = run_variant("performer", pp, {{"nbf", std::int64_t{2}}}, q, k, v);
    INFO("causal " << causal);
    for (std::size_t x = 0; x < sum.out.size(); ++x)
      REQUIRE(sum.out[x] == Approx(ref.out[x] + perf.out[x]).epsilon(1e-6).margin(1e-7));
    CHECK(std::abs(sum.peak - sum.analytic) <= 0.1 * sum.analytic);
    CHECK(sum.extras.at("performer_features") == 22.0);  // floor(16·ln 16 / 2)
  }
}

TEST_CASE("scatterbrain: corrected with every key on the support is exact attention (P1)", "[scatterbrain]") {
  const int t = 70, d = 16;
  const auto q = gaussian(t * d, 4), k = gaussian(t * d, 5), v = gaussian(t * d, 6);
  const auto w = favor::draw_projection(3, 20, d);
  std::vector<std::int32_t> all(t);
  std::iota(all.begin(), all.end(), 0);
  for (bool causal : {false, true}) {
    const problem p{.seq_len = t, .head_dim = d, .causal = causal};
    // Logits of several hundred (q × 40): exact softmax must still come out finite and right.
    auto q_peaky = q;
    for (auto& x : q_peaky) x *= 40.0f;
    const auto peaky = corrected(w, causal, t, d, q_peaky, k, v, [&](int i) {
      return std::span<const std::int32_t>(all.data(), causal ? i + 1 : t);
    });
    CHECK(rel_err(peaky, exact_attention(p, q_peaky, k, v)) < 1e-4);
    const auto out = corrected(w, causal, t, d, q, k, v, [&](int i) {
      return std::span<const std::int32_t>(all.data(), causal ? i + 1 : t);
    });
    INFO("causal " << causal);
    CHECK(rel_err(out, exact_attention(p, q, k, v)) < 1e-5);
  }
}

TEST_CASE("scatterbrain: corrected with an empty support is the Performer", "[scatterbrain]") {
  const int t = 70, d = 16;
  const auto q = gaussian(t * d, 7), k = gaussian(t * d, 8), v = gaussian(t * d, 9);
  const auto w = favor::draw_projection(4, 24, d);
  for (bool causal : {false, true}) {
    const auto out = corrected(w, causal, t, d, q, k, v, [](int) { return std::span<const std::int32_t>(); });
    std::vector<float> perf(std::size_t(t) * d);
    const favor::settings s{.kernel = favor::kernel_kind::softmax, .causal = causal, .eps = 1e-6f, .chunk = 16};
    favor::workspace ws(w.m, s, t, d);
    favor::attend(w, s, {.q = q.data(), .ldq = d, .k = k.data(), .ldk = d, .v = v.data(), .ldv = d,
                         .out = perf.data(), .ldo = d, .t = t, .dv = d},
                  ws);
    INFO("causal " << causal);
    for (std::size_t x = 0; x < out.size(); ++x) REQUIRE(out[x] == Approx(perf[x]).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("scatterbrain: corrected matches its fp64 formula on a partial support", "[scatterbrain]") {
  // Weight of pair (i, j): the exact kernel ê_ij on S_i, the Performer estimate φ(q_i)·φ(k_j) elsewhere,
  // both with the same stabilisers, normalised jointly over the visible keys. The peaky case (q × 8)
  // puts ê_ij far beyond the fp32 range before the row rescale.
  const int t = 60, d = 8, m = 16;
  const double q_scale = GENERATE(1.0, 8.0);
  auto q = gaussian(t * d, 10, 0.7);
  for (auto& x : q) x *= static_cast<float>(q_scale);
  const auto k = gaussian(t * d, 11, 0.7), v = gaussian(t * d, 12);
  const auto w = favor::draw_projection(6, m, d);
  std::vector<std::vector<std::int32_t>> supp(t);
  counter_rng pick(77, 1);
  for (int i = 0; i < t; ++i)
    for (int j = 0; j < t; ++j)
      if (pick.uniform() < 0.3) supp[i].push_back(j);
  const double s4 = std::pow(double(d), -0.25), eps = 1e-6, ratio = 1.0 / std::sqrt(double(m));
  auto expo = [&](const std::vector<float>& x, int i, int f) {
    double dot = 0, sq = 0;
    for (int c = 0; c < d; ++c) {
      dot += double(w.row(f)[c]) * x[i * d + c];
      sq += double(x[i * d + c]) * x[i * d + c];
    }
    return s4 * dot - 0.5 * s4 * s4 * sq;
  };
  for (bool causal : {false, true}) {
    std::vector<std::vector<std::int32_t>> s(t);
    for (int i = 0; i < t; ++i)
      for (int j : supp[i])
        if (!causal || j <= i) s[i].push_back(j);
    const auto got = corrected(w, causal, t, d, q, k, v, [&](int i) { return std::span<const std::int32_t>(s[i]); }, 7);
    std::vector<double> cq(t), rk(t);
    double run = -1e300;
    for (int j = 0; j < t; ++j) {
      double mq = -1e300, mk = -1e300;
      for (int f = 0; f < m; ++f) {
        mq = std::max(mq, expo(q, j, f));
        mk = std::max(mk, expo(k, j, f));
      }
      cq[j] = mq;
      rk[j] = run = std::max(run, mk);
    }
    std::vector<double> want(std::size_t(t) * d, 0.0);
    for (int i = 0; i < t; ++i) {
      const int n = causal ? i + 1 : t;
      const double ref = causal ? rk[i] : rk[t - 1];
      std::vector<double> wt(n);
      double den = 0;
      for (int j = 0; j < n; ++j) {
        const double cj = causal ? rk[j] : rk[t - 1];
        if (std::find(s[i].begin(), s[i].end(), j) != s[i].end()) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += double(q[i * d + c]) * k[j * d + c];
          wt[j] = std::exp(dot / std::sqrt(double(d)) - cq[i] - ref);
        } else {
          for (int f = 0; f < m; ++f)
            wt[j] += ratio * (std::exp(expo(q, i, f) - cq[i]) + eps) * ratio * (std::exp(expo(k, j, f) - cj) + eps) *
                     std::exp(cj - ref);
        }
        den += wt[j];
      }
      for (int j = 0; j < n; ++j)
        for (int c = 0; c < d; ++c) want[i * d + c] += wt[j] / den * v[j * d + c];
    }
    INFO("causal " << causal << " q scale " << q_scale);
    for (float x : got) REQUIRE(std::isfinite(x));
    CHECK(rel_err(got, want) < (q_scale > 1 ? 1e-4 : 3e-5));
  }
}

TEST_CASE("scatterbrain: corrected variant's support is the LSH windows plus the diagonal", "[scatterbrain]") {
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 128, .head_dim = 16, .causal = causal, .k = 16, .seed = 9};
    const auto q = gaussian(p.qkv_elements(), 13), k = gaussian(p.qkv_elements(), 14), v = gaussian(p.qkv_elements(), 15);
    const auto r = run_variant("scatterbrain", p, {{"combine", std::string("corrected")}, {"n_hashes", std::int64_t{3}}},
                               q, k, v);
    CHECK(std::abs(r.peak - r.analytic) <= 0.1 * r.analytic);
    // Rebuild the index the variant used and count |row_keys(i) ∪ {i}| per row.
    lsh::config cfg{.seq_len = p.seq_len, .head_dim = p.head_dim, .chunk = 16,
                    .n_buckets = lsh::auto_n_buckets(p.seq_len, 16, lsh::bucket_rule::per_chunk), .n_hashes = 3,
                    .causal = causal, .dedup = true, .scale = float(p.scale())};
    std::vector<float> rot(cfg.rotation_count());
    lsh::draw_rotations(cfg, p.seed, rot.data());
    lsh::head_workspace ws(cfg);
    std::vector<std::int32_t> keys;
    double total = 0;
    for (int h = 0; h < p.heads; ++h) {
      lsh::build_index(cfg, rot.data(), q.data() + std::size_t(h) * p.seq_len * p.head_dim, ws);
      for (int i = 0; i < p.seq_len; ++i) {
        lsh::row_keys(cfg, ws, i, keys);
        total += double(keys.size()) + (std::find(keys.begin(), keys.end(), i) == keys.end() ? 1 : 0);
      }
    }
    INFO("causal " << causal);
    CHECK(r.extras.at("scatterbrain_exact_keys_per_query") == Approx(total / double(p.rows())));
    CHECK(total / double(p.rows()) < (causal ? 0.6 : 0.9) * p.seq_len);  // a real sparse support
  }
}

TEST_CASE("scatterbrain: exact setting and error falling with k (corrected)", "[scatterbrain]") {
  const attention_variant* var = variant_registry::instance().find("scatterbrain");
  REQUIRE(var != nullptr);
  for (bool causal : {false, true}) {
    problem p{.batch = 1, .heads = 2, .seq_len = 128, .head_dim = 16, .causal = causal};
    const auto q = gaussian(p.qkv_elements(), 16), k = gaussian(p.qkv_elements(), 17), v = gaussian(p.qkv_elements(), 18);
    const auto exact = exact_attention(p, q, k, v);
    const auto ex = var->exact_setting(p);
    REQUIRE(ex.has_value());
    p.k = ex->k;
    CHECK(rel_err(run_variant("scatterbrain", p, ex->params, q, k, v).out, exact) < 1e-5);
    std::vector<double> err;
    for (const auto& step : var->budget_ladder(p)) {
      double e = 0;
      for (std::uint64_t seed = 0; seed < 4; ++seed) {
        p.k = step.k;
        p.seed = seed;
        e += rel_err(run_variant("scatterbrain", p, step.params, q, k, v).out, exact);
      }
      err.push_back(e / 4);
    }
    REQUIRE(err.size() == 3);
    INFO("causal " << causal << " errors " << err[0] << " " << err[1] << " " << err[2]);
    CHECK(err[1] < err[0]);
    CHECK(err[2] < err[1]);
  }
}

TEST_CASE("scatterbrain: causal rows ignore later keys and values", "[scatterbrain]") {
  for (const char* combine : {"sum", "corrected"}) {
    problem p{.batch = 1, .heads = 1, .seq_len = 96, .head_dim = 16, .causal = true, .k = 8, .seed = 2};
    const int t = p.seq_len, d = p.head_dim, cut = 50;
    const auto q = gaussian(p.qkv_elements(), 19), k = gaussian(p.qkv_elements(), 20), v = gaussian(p.qkv_elements(), 21);
    auto k2 = k, v2 = v;
    for (int j = cut + 1; j < t; ++j)
      for (int c = 0; c < d; ++c) {
        k2[j * d + c] = 3.0f * k[j * d + c] + 1.0f;
        v2[j * d + c] = -2.0f * v[j * d + c];
      }
    const std::map<std::string, param_value> ps{{"combine", std::string(combine)}};
    const auto a = run_variant("scatterbrain", p, ps, q, k, v).out, b = run_variant("scatterbrain", p, ps, q, k2, v2).out;
    INFO(combine);
    for (int x = 0; x < (cut + 1) * d; ++x) REQUIRE(a[x] == b[x]);
    CHECK(a != b);
  }
}

TEST_CASE("scatterbrain: parameters, rejected combinations and memory", "[scatterbrain]") {
  const attention_variant* var = variant_registry::instance().find("scatterbrain");
  REQUIRE(var != nullptr);
  CHECK(var->caps().uses_k == k_usage::bucket_size);
  CHECK(var->caps().randomized);
  const problem p{.batch = 1, .heads = 1, .seq_len = 64, .head_dim = 16, .k = 8};
  CHECK(var->check(p, var->parameters().resolve("t", {{"combine", std::string("corrected")},
                                                      {"kernel", std::string("relu")}}))
            .has_value());
  CHECK(var->check(p, var->parameters().resolve("t", {{"n_buckets", std::int64_t{3}}})).has_value());
  CHECK_FALSE(var->check(p, var->parameters().resolve("t", {{"kernel", std::string("relu")}})).has_value());
  for (bool causal : {false, true})
    for (const char* combine : {"sum", "corrected"}) {
      problem pm{.batch = 2, .heads = 2, .seq_len = 400, .head_dim = 32, .causal = causal, .k = 32, .seed = 1};
      const auto q = gaussian(pm.qkv_elements(), 22), k = gaussian(pm.qkv_elements(), 23), v = gaussian(pm.qkv_elements(), 24);
      const auto r = run_variant("scatterbrain", pm, {{"combine", std::string(combine)}}, q, k, v);
      INFO("causal " << causal << " combine " << combine << " peak " << r.peak << " analytic " << r.analytic);
      CHECK(std::abs(r.peak - r.analytic) <= 0.1 * r.analytic);
      for (float x : r.out) REQUIRE(std::isfinite(x));
    }
}
