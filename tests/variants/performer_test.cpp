// performer / FAVOR+ (baselines.md §2, §14): projections, unbiasedness, stabilisers, the causal scan
// against the masked quadratic form, error against exact attention as m grows.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "attention_variants/performer/favor.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/core/variant.hpp"
#include "tests/variants/variant_test_util.hpp"

namespace {

using namespace sb;

using variant_test::rel_err;

std::vector<float> gaussian(std::size_t n, std::uint64_t seed, double sigma = 1.0) {
  return variant_test::random_tensor(n, seed, 99, sigma);
}

double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += double(a[i] - b[i]) * (a[i] - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / den);
}

/// Exact softmax attention in fp64 for one head.
std::vector<double> exact_attention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                    int t, int d, bool causal) {
  return variant_test::exact_attention({.batch = 1, .heads = 1, .seq_len = t, .head_dim = d, .causal = causal}, q, k, v);
}

/// fp64 softmax exponents a_f(x) = w_f·x̃ − ‖x̃‖²/2 for rows of x.
std::vector<double> exponents64(const favor::projection& w, const std::vector<float>& x, int n) {
  const int d = w.d, m = w.m;
  const double s = std::pow(double(d), -0.25);
  std::vector<double> a(static_cast<std::size_t>(n) * m);
  for (int i = 0; i < n; ++i) {
    double sq = 0;
    for (int c = 0; c < d; ++c) sq += double(x[i * d + c]) * x[i * d + c];
    for (int f = 0; f < m; ++f) {
      double acc = 0;
      for (int c = 0; c < d; ++c) acc += double(w.row(f)[c]) * x[i * d + c];
      a[static_cast<std::size_t>(i) * m + f] = s * acc - 0.5 * s * s * sq;
    }
  }
  return a;
}

/// The row-normalised (masked, when causal) quadratic form of FAVOR+ softmax features in fp64, with the
/// stabilisers and ε exactly as favor.hpp defines them: φq_if = m^{-1/2}(e^{a_if − max_f a_if} + ε); key j
/// in absolute scale κ_jf = m^{-1/2}(e^{a_jf − c_j} + ε)·e^{c_j} with c_j = the head's max (non-causal) or
/// the running max up to j (causal). Weights are formed relative to e^{c_i} (causal) or e^{c_K}.
std::vector<double> favor_quadratic(const favor::projection& w, const std::vector<float>& q, const std::vector<float>& k,
                                    const std::vector<float>& v, int t, int d, bool causal, double eps) {
  const int m = w.m;
  const auto aq = exponents64(w, q, t), ak = exponents64(w, k, t);
  std::vector<double> cq(t), ck(t);
  double run = -1e300, all = -1e300;
  for (int j = 0; j < t; ++j) {
    cq[j] = *std::max_element(aq.begin() + j * m, aq.begin() + (j + 1) * m);
    run = std::max(run, *std::max_element(ak.begin() + j * m, ak.begin() + (j + 1) * m));
    ck[j] = run;
    all = run;
  }
  const double r = 1.0 / std::sqrt(double(m));
  std::vector<double> out(static_cast<std::size_t>(t) * d, 0.0);
  for (int i = 0; i < t; ++i) {
    const int n = causal ? i + 1 : t;
    const double ref = causal ? ck[i] : all;
    std::vector<double> wts(n);
    double den = 0;
    for (int j = 0; j < n; ++j) {
      const double cj = causal ? ck[j] : all;
      double acc = 0;
      for (int f = 0; f < m; ++f)
        acc += r * (std::exp(aq[i * m + f] - cq[i]) + eps) * r * (std::exp(ak[j * m + f] - cj) + eps) * std::exp(cj - ref);
      wts[j] = acc;
      den += acc;
    }
    for (int j = 0; j < n; ++j)
      for (int c = 0; c < d; ++c) out[i * d + c] += wts[j] / den * v[j * d + c];
  }
  return out;
}

std::vector<float> run_favor(const favor::projection& w, const favor::settings& s, const std::vector<float>& q,
                             const std::vector<float>& k, const std::vector<float>& v, int t, int d) {
  std::vector<float> out(static_cast<std::size_t>(t) * d);
  favor::workspace ws(w.m, s, t, d);
  favor::attend(w, s, {.q = q.data(), .ldq = d, .k = k.data(), .ldk = d, .v = v.data(), .ldv = d, .out = out.data(),
                       .ldo = d, .t = t, .dv = d},
                ws);
  return out;
}

}  // namespace

TEST_CASE("performer: feature counts follow the SEA paper's nbf rule", "[performer]") {
  CHECK(favor::features_from_nbf(64, 1) == 266);
  CHECK(favor::features_from_nbf(64, 2) == 133);
  CHECK(favor::features_from_nbf(64, 4) == 66);
  CHECK(favor::features_from_nbf(64, 8) == 33);
  CHECK(favor::features_from_nbf(128, 1) == 621);
  CHECK(favor::features_from_nbf(128, 2) == 310);
  CHECK(favor::features_from_nbf(128, 4) == 155);
  CHECK(favor::features_from_nbf(128, 8) == 77);
}

TEST_CASE("performer: orthogonal projection rows are orthogonal within a block", "[performer]") {
  const int d = 16, m = 40;  // blocks of 16, 16 and a truncated 8
  for (auto norms : {favor::row_norms::chi, favor::row_norms::sqrt_d}) {
    const auto w = favor::draw_projection(7, m, d, {.orthogonal = true, .norms = norms});
    REQUIRE(w.w.size() == std::size_t(m) * d);
    auto dot = [&](int a, int b) {
      double s = 0;
      for (int c = 0; c < d; ++c) s += double(w.row(a)[c]) * w.row(b)[c];
      return s;
    };
    double worst_in = 0, worst_across = 0;
    for (int a = 0; a < m; ++a)
      for (int b = 0; b < a; ++b) {
        const double cosine = std::abs(dot(a, b)) / std::sqrt(dot(a, a) * dot(b, b));
        if (a / d == b / d) worst_in = std::max(worst_in, cosine);
        else worst_across = std::max(worst_across, cosine);
      }
    CHECK(worst_in < 1e-5);
    CHECK(worst_across > 1e-2);  // independent blocks are not orthogonal to each other
    std::vector<double> norms2(m);
    for (int f = 0; f < m; ++f) norms2[f] = dot(f, f);
    if (norms == favor::row_norms::sqrt_d) {
      for (double n2 : norms2) CHECK(n2 == Approx(d).epsilon(1e-5));
    } else {
      const auto [lo, hi] = std::minmax_element(norms2.begin(), norms2.end());
      CHECK(*hi - *lo > 1.0);  // χ norms vary from row to row
      const double mean = std::accumulate(norms2.begin(), norms2.end(), 0.0) / m;
      CHECK(mean == Approx(d).epsilon(0.35));  // E‖w‖² = d
    }
  }
}

TEST_CASE("performer: projections are a function of the seed", "[performer]") {
  const auto a = favor::draw_projection(3, 20, 8), b = favor::draw_projection(3, 20, 8),
             c = favor::draw_projection(4, 20, 8);
  CHECK(a.w == b.w);
  CHECK(a.w != c.w);
  const auto iid = favor::draw_projection(3, 20, 8, {.orthogonal = false});
  CHECK(iid.w != a.w);
}

TEST_CASE("performer: the seed-averaged softmax kernel estimate is unbiased (P11)", "[performer]") {
  const int d = 16, m = 8, seeds = 4000;
  const auto q = gaussian(d, 1, 0.6), k = gaussian(d, 2, 0.6);
  double qk = 0;
  for (int c = 0; c < d; ++c) qk += double(q[c]) * k[c];
  const double truth = std::exp(qk / std::sqrt(double(d)));
  for (bool ortho : {true, false}) {
    double sum = 0, sum2 = 0;
    std::vector<float> pq(m), pk(m);
    for (int s = 0; s < seeds; ++s) {
      const auto w = favor::draw_projection(1000 + s, m, d, {.orthogonal = ortho});
      favor::softmax_features_unstabilised(w, q.data(), 1, d, 0.0f, pq.data());
      favor::softmax_features_unstabilised(w, k.data(), 1, d, 0.0f, pk.data());
      double e = 0;
      for (int f = 0; f < m; ++f) e += double(pq[f]) * pk[f];
      sum += e;
      sum2 += e * e;
    }
    const double mean = sum / seeds, var = sum2 / seeds - mean * mean, se = std::sqrt(var / seeds);
    INFO("orthogonal " << ortho << " mean " << mean << " truth " << truth << " se " << se);
    CHECK(std::abs(mean - truth) < 4 * se);
    CHECK(se < 0.05 * truth);  // the interval is tight enough to mean something
  }
}

TEST_CASE("performer: FAVOR+ output equals the row-normalised quadratic form of its features (P2, P10)",
          "[performer]") {
  const int t = 131, d = 16;
  const auto q = gaussian(t * d, 11), k = gaussian(t * d, 12), v = gaussian(t * d, 13);
  const auto w = favor::draw_projection(5, 24, d);
  for (bool causal : {false, true})
    for (int chunk : {7, 64})
      for (float eps : {0.0f, 1e-6f, 1e-2f}) {
        favor::settings s{.kernel = favor::kernel_kind::softmax, .causal = causal, .eps = eps, .chunk = chunk};
        const auto got = run_favor(w, s, q, k, v, t, d);
        const auto want = favor_quadratic(w, q, k, v, t, d, causal, eps);
        INFO("causal " << causal << " chunk " << chunk << " eps " << eps);
        CHECK(rel_err(got, want) < 2e-5);
      }
}

TEST_CASE("performer: the causal scan survives large jumps of the key stabiliser", "[performer]") {
  // Keys whose norms grow along the sequence make the running max jump by tens of nats between chunks
  // and inside a chunk; an unstabilised scan would overflow fp32.
  const int t = 96, d = 16;
  auto q = gaussian(t * d, 21), k = gaussian(t * d, 22), v = gaussian(t * d, 23);
  for (int j = 0; j < t; ++j)
    for (int c = 0; c < d; ++c) k[j * d + c] *= 1.0f + 0.12f * j;
  const auto w = favor::draw_projection(9, 32, d);
  favor::settings s{.kernel = favor::kernel_kind::softmax, .causal = true, .eps = 0.0f, .chunk = 16};
  const auto got = run_favor(w, s, q, k, v, t, d);
  for (float x : got) REQUIRE(std::isfinite(x));
  CHECK(rel_err(got, favor_quadratic(w, q, k, v, t, d, true, 0.0)) < 2e-5);
}

TEST_CASE("performer: ReLU kernel equals the masked quadratic form of ReLU features", "[performer]") {
  const int t = 100, d = 16, m = 20;
  const auto q = gaussian(t * d, 31), k = gaussian(t * d, 32), v = gaussian(t * d, 33);
  const auto w = favor::draw_projection(2, m, d);
  std::vector<float> pq(t * m), pk(t * m);
  favor::relu_features(w, q.data(), t, d, 1e-3f, pq.data());
  favor::relu_features(w, k.data(), t, d, 1e-3f, pk.data());
  // Check the feature map itself against its formula.
  const double s4 = std::pow(double(d), -0.25);
  for (int i : {0, 17, 99})
    for (int f : {0, 7, 19}) {
      double acc = 0;
      for (int c = 0; c < d; ++c) acc += double(w.row(f)[c]) * q[i * d + c];
      CHECK(pq[i * m + f] == Approx(std::max(0.0, s4 * acc) + 1e-3).epsilon(1e-5).margin(1e-6));
    }
  for (bool causal : {false, true}) {
    std::vector<double> want(t * d, 0.0);
    for (int i = 0; i < t; ++i) {
      const int n = causal ? i + 1 : t;
      double den = 0;
      std::vector<double> a(n);
      for (int j = 0; j < n; ++j) {
        for (int f = 0; f < m; ++f) a[j] += double(pq[i * m + f]) * pk[j * m + f];
        den += a[j];
      }
      for (int j = 0; j < n; ++j)
        for (int c = 0; c < d; ++c) want[i * d + c] += a[j] / den * v[j * d + c];
    }
    const auto got = run_favor(w, {.kernel = favor::kernel_kind::relu, .causal = causal, .chunk = 13}, q, k, v, t, d);
    INFO("causal " << causal);
    CHECK(rel_err(got, want) < 2e-5);
  }
}

TEST_CASE("performer: a constant added to the key stabiliser leaves the output unchanged", "[performer]") {
  const int t = 90, d = 16;
  const auto q = gaussian(t * d, 41), k = gaussian(t * d, 42), v = gaussian(t * d, 43);
  const auto w = favor::draw_projection(8, 32, d);
  for (bool causal : {false, true}) {
    favor::settings s{.kernel = favor::kernel_kind::softmax, .causal = causal, .eps = 0.0f, .chunk = 32};
    const auto base = run_favor(w, s, q, k, v, t, d);
    for (float shift : {-4.0f, 6.0f, 25.0f}) {
      s.key_stabiliser_shift = shift;
      INFO("causal " << causal << " shift " << shift);
      CHECK(rel_diff(run_favor(w, s, q, k, v, t, d), base) < 1e-5);
    }
    // With ε > 0 a large shift makes ε dominate the key features: the hook really reaches them.
    favor::settings se{.kernel = favor::kernel_kind::softmax, .causal = causal, .eps = 1e-6f, .chunk = 32};
    const auto with_eps = run_favor(w, se, q, k, v, t, d);
    se.key_stabiliser_shift = 25.0f;
    CHECK(rel_diff(run_favor(w, se, q, k, v, t, d), with_eps) > 1e-2);
  }
}

TEST_CASE("performer: causal rows do not depend on later keys or values", "[performer]") {
  const int t = 80, d = 16, cut = 37;
  const auto q = gaussian(t * d, 51), k = gaussian(t * d, 52), v = gaussian(t * d, 53);
  auto k2 = k, v2 = v;
  for (int j = cut + 1; j < t; ++j)
    for (int c = 0; c < d; ++c) {
      k2[j * d + c] = 5.0f * k[j * d + c] + 3.0f;  // pushes the running max far up after `cut`
      v2[j * d + c] = -v[j * d + c];
    }
  const auto w = favor::draw_projection(3, 48, d);
  for (auto kern : {favor::kernel_kind::softmax, favor::kernel_kind::relu}) {
    favor::settings s{.kernel = kern, .causal = true, .chunk = 16};
    const auto a = run_favor(w, s, q, k, v, t, d), b = run_favor(w, s, q, k2, v2, t, d);
    for (int i = 0; i <= cut; ++i)
      for (int c = 0; c < d; ++c) REQUIRE(a[i * d + c] == b[i * d + c]);
    CHECK(rel_diff(b, a) > 1e-2);  // later rows did change
  }
}

TEST_CASE("performer: non-causal FAVOR+ is permutation equivariant (P8)", "[performer]") {
  const int t = 70, d = 16;
  const auto q = gaussian(t * d, 61), k = gaussian(t * d, 62), v = gaussian(t * d, 63);
  const auto w = favor::draw_projection(4, 40, d);
  std::vector<int> perm(t);
  std::iota(perm.begin(), perm.end(), 0);
  for (int i = 0; i < t; ++i) std::swap(perm[i], perm[(i * 37 + 11) % t]);
  auto permute = [&](const std::vector<float>& x) {
    std::vector<float> y(x.size());
    for (int i = 0; i < t; ++i) std::copy_n(x.begin() + perm[i] * d, d, y.begin() + i * d);
    return y;
  };
  for (auto kern : {favor::kernel_kind::softmax, favor::kernel_kind::relu}) {
    favor::settings s{.kernel = kern, .causal = false, .chunk = 16};
    const auto base = run_favor(w, s, q, k, v, t, d);
    CHECK(rel_diff(run_favor(w, s, q, permute(k), permute(v), t, d), base) < 1e-5);
    CHECK(rel_diff(run_favor(w, s, permute(q), k, v, t, d), permute(base)) < 1e-5);
  }
}

TEST_CASE("performer: error against exact attention falls as m grows (P3)", "[performer]") {
  // q, k ~ N(0, 0.25): the estimator's relative variance per pair grows like exp(‖q̃ + k̃‖²)/m, so with
  // N(0, 1) entries at d = 32 (‖q̃ + k̃‖² ≈ 11) even m = 1024 is far from the m^{-1/2} regime.
  const int t = 192, d = 32, seeds = 6;
  const auto q = gaussian(t * d, 71, 0.5), k = gaussian(t * d, 72, 0.5), v = gaussian(t * d, 73);
  for (bool causal : {false, true}) {
    const auto exact = exact_attention(q, k, v, t, d, causal);
    std::vector<double> err;
    for (int m : {16, 64, 256, 1024}) {
      double e = 0;
      for (int s = 0; s < seeds; ++s) {
        const auto w = favor::draw_projection(500 + s, m, d);
        e += rel_err(run_favor(w, {.kernel = favor::kernel_kind::softmax, .causal = causal}, q, k, v, t, d), exact);
      }
      err.push_back(e / seeds);
    }
    INFO("causal " << causal << " errors " << err[0] << " " << err[1] << " " << err[2] << " " << err[3]);
    for (std::size_t i = 1; i < err.size(); ++i) CHECK(err[i] < err[i - 1]);
    CHECK(err[0] / err[3] > 4.0);  // m^{-1/2} would give 8
  }
}

TEST_CASE("performer: orthogonal features are no worse than iid on average", "[performer]") {
  const int t = 128, d = 32, m = 32, seeds = 24;
  const auto q = gaussian(t * d, 81), k = gaussian(t * d, 82), v = gaussian(t * d, 83);
  const auto exact = exact_attention(q, k, v, t, d, false);
  double e_ortho = 0, e_iid = 0;
  for (int s = 0; s < seeds; ++s) {
    const favor::settings st{.kernel = favor::kernel_kind::softmax};
    e_ortho += rel_err(run_favor(favor::draw_projection(900 + s, m, d, {.orthogonal = true}), st, q, k, v, t, d), exact);
    e_iid += rel_err(run_favor(favor::draw_projection(900 + s, m, d, {.orthogonal = false}), st, q, k, v, t, d), exact);
  }
  INFO("orthogonal " << e_ortho / seeds << " iid " << e_iid / seeds);
  CHECK(e_ortho <= e_iid);
}

TEST_CASE("performer: linear_scan with per-key log-scales matches fp64", "[performer]") {
  // Random positive features whose keys carry log-scales spread over ±30 nats, in random order.
  const int t = 75, f = 12, dv = 5;
  const auto pq0 = gaussian(t * f, 91), pk0 = gaussian(t * f, 92), v = gaussian(t * dv, 93), ls0 = gaussian(t, 94);
  std::vector<float> pq(t * f), pk(t * f), ls(t);
  for (int i = 0; i < t * f; ++i) {
    pq[i] = std::exp(pq0[i]);
    pk[i] = std::exp(pk0[i]);
  }
  for (int j = 0; j < t; ++j) ls[j] = 12.0f * ls0[j];
  std::vector<double> want(t * dv, 0.0);
  for (int i = 0; i < t; ++i) {
    double mx = -1e300;
    for (int j = 0; j <= i; ++j) mx = std::max(mx, double(ls[j]));
    double den = 0;
    std::vector<double> a(i + 1);
    for (int j = 0; j <= i; ++j) {
      for (int x = 0; x < f; ++x) a[j] += double(pq[i * f + x]) * pk[j * f + x];
      a[j] *= std::exp(ls[j] - mx);
      den += a[j];
    }
    for (int j = 0; j <= i; ++j)
      for (int c = 0; c < dv; ++c) want[i * dv + c] += a[j] / den * v[j * dv + c];
  }
  for (int chunk : {1, 8, 32, 128}) {
    favor::linear_scan scan(f, dv, chunk, true);
    std::vector<float> out(t * dv), kbuf(pk);
    for (int p = 0; p < t; p += chunk) {
      const int n = std::min(chunk, t - p);
      scan.causal_chunk(pq.data() + p * f, kbuf.data() + p * f, ls.data() + p, n, v.data() + p * dv, dv, 0.0f,
                        out.data() + p * dv, dv);
    }
    INFO("chunk " << chunk);
    CHECK(rel_err(out, want) < 2e-5);
  }
}

TEST_CASE("performer: registered variant, parameters, memory model", "[performer]") {
  const attention_variant* var = variant_registry::instance().find("performer");
  REQUIRE(var != nullptr);
  const auto caps = var->caps();
  CHECK(caps.randomized);
  CHECK(caps.uses_k == k_usage::none);
  for (bool causal : {false, true})
    for (const char* kern : {"softmax", "relu"}) {
      problem p{.batch = 2, .heads = 3, .seq_len = 300, .head_dim = 64, .causal = causal, .seed = 17};
      const param_set ps = var->parameters().resolve("test", {{"nbf", std::int64_t{8}}, {"kernel", std::string(kern)}});
      REQUIRE_FALSE(var->check(p, ps).has_value());
      const auto q = gaussian(p.qkv_elements(), 1), k = gaussian(p.qkv_elements(), 2), v = gaussian(p.qkv_elements(), 3);
      auto inst = var->instantiate(p, ps, device_kind::cpu);
      auto& mt = memory_tracker::instance();
      const std::size_t before = mt.current_bytes();
      mt.reset_peak();
      std::vector<float> copy;
      {
        tracked_buffer<float> out(p.qkv_elements());
        run_context ctx;
        inst->run({q.data(), k.data(), v.data()}, out.data(), ctx);
        CHECK(ctx.extras.at("performer_features") == 33.0);  // floor(64·ln 64 / 8)
        copy.assign(out.data(), out.data() + out.size());
      }
      const double peak = double(mt.peak_bytes() - before), analytic = double(var->analytic_memory_bytes(p, ps));
      INFO("causal " << causal << " kernel " << kern << " peak " << peak << " analytic " << analytic);
      CHECK(std::abs(peak - analytic) <= 0.1 * analytic);
      for (float x : copy) REQUIRE(std::isfinite(x));
      const auto fl = var->flops(p, ps);
      CHECK(fl.executed > 0);
      CHECK(fl.executed < fl.dense_equiv * (causal ? 2 : 1));  // linear in T: well below dense at T = 300
    }
}
