// SEA estimators against naive formulas (pooled, oracle, performer_hist), the CNN operations against
// naive loops, and the inspect matrices.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "attention_variants/sea/bins.hpp"
#include "attention_variants/sea/cnn_ops.hpp"
#include "attention_variants/sea/estimators.hpp"
#include "attention_variants/sea/inspect.hpp"
#include "attention_variants/sea/learned_estimator.hpp"
#include "tests/variants/sea_test_util.hpp"

using namespace sb;
using namespace sb::sea;
using sea_test::make_problem;
using sea_test::params_with;
using sea_test::random_inputs;

namespace {
std::vector<float> estimate(const problem& p, const config& c, const sea_test::inputs& in) {
  std::vector<float> a(static_cast<std::size_t>(p.batch) * p.heads * c.estimator_rows(p.seq_len) * c.K);
  make_estimator(p, c)->estimate(in.view(), a.data(), nullptr);
  return a;
}
}  // namespace

TEST_CASE("sea pooled: softmax over bins of q.mean(k)/sqrt(d) (+ log n_b), empty bins get 0", "[sea]") {
  for (bool causal : {false, true})
    for (bool mass : {true, false}) {
      INFO((causal ? "causal" : "non-causal") << " mass term " << mass);
      const problem p = make_problem(20, causal, 2, 2, 8);
      const auto in = random_inputs(p, 12);
      const config c = make_config(p, params_with({{"estimator", std::string("pooled")}, {"K", std::int64_t{6}},
                                                   {"pooled_mass_term", mass}, {"upsample", std::string("nearest")}}));
      const auto a = estimate(p, c, in);
      const int d = p.head_dim;
      for (int h = 0; h < p.heads; ++h)
        for (int t = 0; t < p.seq_len; ++t) {
          const int L = causal ? t + 1 : p.seq_len;
          std::vector<double> score(6, -INFINITY);
          for (int b = 0; b < 6; ++b) {
            std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
            int n = 0;
            for (int j = 0; j < L; ++j)
              if (nearest_bin(j, L, 6) == b) {
                ++n;
                for (int x = 0; x < d; ++x) mean[x] += in.k[(static_cast<std::size_t>(h) * p.seq_len + j) * d + x];
              }
            if (!n) continue;
            double dot = 0;
            for (int x = 0; x < d; ++x) dot += in.q[(static_cast<std::size_t>(h) * p.seq_len + t) * d + x] * mean[x] / n;
            score[b] = dot / std::sqrt(double(d)) + (mass ? std::log(double(n)) : 0.0);
          }
          const double mx = *std::max_element(score.begin(), score.end());
          double sum = 0;
          for (double s : score) sum += std::exp(s - mx);
          for (int b = 0; b < 6; ++b)
            CHECK(a[(static_cast<std::size_t>(h) * p.seq_len + t) * 6 + b] ==
                  Approx(std::exp(score[b] - mx) / sum).epsilon(1e-4).margin(1e-7));
        }
    }
}

TEST_CASE("sea performer_hist: rows are distributions over non-empty bins and track the oracle", "[sea]") {
  for (bool causal : {false, true}) {
    INFO((causal ? "causal" : "non-causal"));
    const problem p = make_problem(96, causal, 4, 2, 16);
    const auto in = random_inputs(p, 13);
    const auto params = [&](const char* est, int nbf) {
      return make_config(p, params_with({{"estimator", std::string(est)}, {"K", std::int64_t{16}},
                                         {"nbf", std::int64_t{nbf}}}));
    };
    const auto oracle = estimate(p, params("oracle", 1), in);
    double err_few = 0, err_many = 0;
    for (int seed = 0; seed < 3; ++seed) {
      problem ps = p;
      ps.seed = static_cast<std::uint64_t>(seed);
      const auto few = estimate(ps, params("performer_hist", 16), in);
      const auto many = estimate(ps, params("performer_hist", 1), in);
      for (std::size_t r = 0; r < many.size() / 16; ++r) {
        const int t = static_cast<int>(r % p.seq_len);
        std::vector<int> b(17);
        row_bounds(upsample_mode::csr, causal ? t + 1 : p.seq_len, 16, b.data());
        double sum = 0;
        for (int x = 0; x < 16; ++x) {
          const float v = many[r * 16 + x];
          REQUIRE(v >= 0.0f);
          if (b[x + 1] == b[x]) REQUIRE(v == 0.0f);
          sum += v;
          err_many += std::abs(v - oracle[r * 16 + x]);
          err_few += std::abs(few[r * 16 + x] - oracle[r * 16 + x]);
        }
        REQUIRE(sum == Approx(1.0).epsilon(1e-5));
      }
    }
    // More random features (nbf 1: m = 44 vs nbf 16: m = 2) estimate the oracle histogram better.
    INFO("L1 error, few features " << err_few << ", many " << err_many);
    CHECK(err_many < err_few);
  }
}

TEST_CASE("sea oracle: rows are the exact attention mass per bin", "[sea]") {
  const problem p = make_problem(33, true, 4, 1, 8);
  const auto in = random_inputs(p, 14);
  const config c = make_config(p, params_with({{"estimator", std::string("oracle")}, {"K", std::int64_t{5}},
                                               {"query_skip", std::int64_t{2}}}));
  const auto a = estimate(p, c, in);
  REQUIRE(a.size() == 17u * 5u);
  for (int e = 0; e < 17; ++e) {
    const int t = 2 * e, L = t + 1;
    std::vector<double> s(static_cast<std::size_t>(L));
    for (int j = 0; j < L; ++j) {
      double dot = 0;
      for (int x = 0; x < 8; ++x) dot += double(in.q[t * 8 + x]) * in.k[j * 8 + x];
      s[j] = std::exp(dot / std::sqrt(8.0));
    }
    const double sum = std::accumulate(s.begin(), s.end(), 0.0);
    std::vector<int> b(6);
    row_bounds(upsample_mode::csr, L, 5, b.data());
    for (int bin = 0; bin < 5; ++bin) {
      double m = 0;
      for (int j = b[bin]; j < b[bin + 1]; ++j) m += s[j] / sum;
      CHECK(a[static_cast<std::size_t>(e) * 5 + bin] == Approx(m).epsilon(1e-5).margin(1e-7));
    }
  }
}

TEST_CASE("sea cnn: conv2d matches a naive convolution (stride, dilation, upsampling, causal padding)", "[sea]") {
  struct geometry_case {
    cnn::conv_geometry g;
    bool causal;
  };
  const geometry_case cases[] = {
      {{.cin = 3, .cout = 2, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 1, .pad_w = 1, .up_t = 1}, false},
      {{.cin = 3, .cout = 4, .kt = 3, .kw = 3, .stride_t = 2, .dil_t = 1, .dil_w = 1, .pad_t = 1, .pad_w = 1, .up_t = 1}, false},
      {{.cin = 2, .cout = 2, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 1, .pad_w = 1, .up_t = 2}, false},
      {{.cin = 2, .cout = 3, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 2, .dil_w = 2, .pad_t = 4, .pad_w = 2, .up_t = 1}, true},
      {{.cin = 4, .cout = 2, .kt = 1, .kw = 1, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 0, .pad_w = 0, .up_t = 1}, true},
  };
  for (const auto& gc : cases) {
    const auto& g = gc.g;
    const int t_in = 600, w_in = 7;  // > one im2col chunk of rows
    cnn::conv_layer L{g, gc.causal, nullptr, nullptr};
    const auto w = sea_test::random_inputs(make_problem(1, false, 1, 1, g.cout * g.cin * g.kt * g.kw), 1).q;
    const auto bias = sea_test::random_inputs(make_problem(1, false, 1, 1, g.cout), 2).q;
    const auto x = sea_test::random_inputs(make_problem(t_in, false, 1, 1, g.cin * w_in), 3).q;  // [cin, t, w] reinterpreted
    L.weight = w.data();
    L.bias = bias.data();
    const int t_out = cnn::conv_out_rows(L, t_in), w_out = g.out_cols(w_in);
    std::vector<float> out(static_cast<std::size_t>(g.cout) * t_out * w_out);
    std::vector<float> scratch(cnn::conv_scratch_floats(L, t_out, w_out));
    cnn::conv2d(L, x.data(), t_in, w_in, out.data(), true, scratch.data());
    if (gc.causal) CHECK(t_out == t_in);
    for (int co = 0; co < g.cout; ++co)
      for (int t = 0; t < t_out; ++t)
        for (int c = 0; c < w_out; ++c) {
          double acc = bias[co];
          for (int ci = 0; ci < g.cin; ++ci)
            for (int i = 0; i < g.kt; ++i)
              for (int j = 0; j < g.kw; ++j) {
                const int r = t * (gc.causal ? 1 : g.stride_t) + i * g.dil_t - g.pad_t;
                const int col = c + j * g.dil_w - g.pad_w;
                if (r < 0 || r >= t_in * g.up_t || col < 0 || col >= w_in) continue;
                if (gc.causal) REQUIRE(r <= t);
                acc += double(w[((static_cast<std::size_t>(co) * g.cin + ci) * g.kt + i) * g.kw + j]) *
                       x[(static_cast<std::size_t>(ci) * t_in + r / g.up_t) * w_in + col];
              }
          REQUIRE(out[(static_cast<std::size_t>(co) * t_out + t) * w_out + c] ==
                  Approx(std::max(acc, 0.0)).epsilon(1e-4).margin(1e-5));
        }
  }
}

TEST_CASE("sea cnn: bilinear (align_corners=False), area resize, LayerNorm, GELU", "[sea]") {
  // 1×2 → 1×4 bilinear: src = (w+0.5)/2 − 0.5 = −0.25→0, 0.25, 0.75, 1.25→ clamp: 1, 1.25, 1.75, 2.
  const float in[] = {1.0f, 2.0f};
  float out[4];
  cnn::resize_bilinear(in, 1, 1, 2, out, 1, 4, 4, 4);
  CHECK(out[0] == Approx(1.0f));
  CHECK(out[1] == Approx(1.25f));
  CHECK(out[2] == Approx(1.75f));
  CHECK(out[3] == Approx(2.0f));
  // Area 6 → 4: windows [0,2) [1,3) [3,5) [4,6) (floor(w·6/4) .. ceil((w+1)·6/4)).
  const float row[] = {1, 2, 3, 4, 5, 6};
  float pooled[4];
  cnn::area_resize_row(row, 6, pooled, 4);
  CHECK(pooled[0] == Approx(1.5f));
  CHECK(pooled[1] == Approx(2.5f));
  CHECK(pooled[2] == Approx(4.5f));
  CHECK(pooled[3] == Approx(5.5f));
  float ln[] = {1, 2, 3, 4};
  const float g[] = {1, 1, 2, 1}, b[] = {0, 0, 0, 1};
  cnn::layer_norm(ln, 4, g, b);
  const double sd = std::sqrt(1.25 + 1e-5);
  CHECK(ln[0] == Approx(-1.5 / sd));
  CHECK(ln[2] == Approx(2 * 0.5 / sd));
  CHECK(ln[3] == Approx(1.5 / sd + 1));
  CHECK(cnn::gelu(0.0f) == 0.0f);
  CHECK(cnn::gelu(1.0f) == Approx(0.8413447f));
  CHECK(cnn::gelu(-3.0f) == Approx(-3.0 * 0.0013498980316301));  // −3·Φ(−3)
}

TEST_CASE("sea learned estimator: the non-causal position basis is the interpolated identity", "[sea]") {
  std::vector<float> row(5);
  tent_basis_row(0, 9, 5, row.data());  // r = 0
  CHECK(row == std::vector<float>{1, 0, 0, 0, 0});
  tent_basis_row(3, 9, 5, row.data());  // r = 3·4/8 = 1.5
  CHECK(row == std::vector<float>{0, 0.5f, 0.5f, 0, 0});
  tent_basis_row(8, 9, 5, row.data());  // r = 4
  CHECK(row == std::vector<float>{0, 0, 0, 0, 1});
}

TEST_CASE("sea inspect: the four matrices of one head agree with the run", "[sea]") {
  for (bool causal : {false, true}) {
    const problem p = make_problem(24, causal, 2, 2, 8);
    const auto in = random_inputs(p, 15);
    const auto params = params_with({{"K", std::int64_t{8}}});
    const head_matrices m = inspect_head(p, params, in.view(), 0, 1);
    REQUIRE(m.exact.size() == 24u * 24u);
    REQUIRE(m.compressed.size() == 24u * 8u);
    const auto r = sea_test::run_sea(p, params, in, true);
    for (int t = 0; t < 24; ++t) {
      double exact_sum = 0, sparse_sum = 0;
      std::vector<std::int32_t> keys;
      for (int j = 0; j < 24; ++j) {
        exact_sum += m.exact[t * 24 + j];
        sparse_sum += m.sparse[t * 24 + j];
        if (m.mask[t * 24 + j] == 1.0f) keys.push_back(j);
        if (m.mask[t * 24 + j] == 0.0f) CHECK(m.sparse[t * 24 + j] == 0.0f);
        if (causal && j > t) CHECK(m.exact[t * 24 + j] == 0.0f);
      }
      CHECK(exact_sum == Approx(1.0));
      CHECK(sparse_sum == Approx(keys.empty() ? 0.0 : 1.0));  // a head may win no cell of a row: it outputs 0
      CHECK(std::accumulate(m.compressed.begin() + t * 8, m.compressed.begin() + (t + 1) * 8, 0.0) == Approx(1.0));
      const std::size_t row = 1 * 24 + t;  // (b·H + h)·T + t
      CHECK(keys == std::vector<std::int32_t>(r.support.cols.begin() + r.support.row_ptr[row],
                                              r.support.cols.begin() + r.support.row_ptr[row + 1]));
      // Output row = Σ sparse·v.
      for (int x = 0; x < 8; ++x) {
        double o = 0;
        for (int j = 0; j < 24; ++j) o += m.sparse[t * 24 + j] * in.v[(24 + j) * 8 + x];
        CHECK(r.out[(24 + t) * 8 + x] == Approx(o).epsilon(1e-4).margin(1e-5));
      }
    }
    CHECK_THROWS_AS(inspect_head(p, params, in.view(), 0, 2), std::out_of_range);
  }
}
