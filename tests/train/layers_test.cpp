// Training layers: forwards equal the inference ops (sea::cnn), every backward matches central finite
// differences of a random linear functional of the output (fp32 forward, loss summed in double).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "attention_variants/sea/cnn_ops.hpp"
#include "harness/core/rng.hpp"
#include "harness/train/grad_check.hpp"
#include "harness/train/layers.hpp"
#include "harness/train/losses.hpp"

namespace {

using namespace sb;
using sb::sea::cnn::conv_layer;

std::size_t sz_t(long long x) { return static_cast<std::size_t>(x); }

std::vector<float> randn(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  counter_rng rng(seed, rng_stream::weights);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

/// Σ r_i·y_i in double: a loss whose gradient w.r.t. y is r.
double dot(const std::vector<float>& r, const std::vector<float>& y) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

constexpr double fd_eps = 1e-3;
constexpr double fd_tolerance = 2e-3;  // fp32 forwards: central differences agree to ~1e-4 relative

void require_close(const train::grad_check_result& r) {
  INFO("relative error " << r.relative_error << ", max abs error " << r.max_abs_error << ", " << r.checked
                         << " coordinates");
  REQUIRE(r.checked > 0);
  REQUIRE(r.relative_error < fd_tolerance);
}

}  // namespace

TEST_CASE("train linear: forward and backward vs finite differences", "[train]") {
  const int n = 5, in = 7, out = 4;
  auto x = randn(sz_t(n * in), 1), w = randn(sz_t(out * in), 2), b = randn(sz_t(out), 3), r = randn(sz_t(n * out), 4);
  std::vector<float> y(sz_t(n * out));
  auto loss = [&] {
    train::linear_forward(x.data(), n, in, w.data(), b.data(), out, y.data());
    return dot(r, y);
  };
  loss();
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      double ref = b[sz_t(o)];
      for (int k = 0; k < in; ++k) ref += static_cast<double>(x[sz_t(i * in + k)]) * w[sz_t(o * in + k)];
      REQUIRE(y[sz_t(i * out + o)] == Approx(ref).epsilon(1e-5));
    }
  std::vector<float> dx(x.size()), dw(w.size(), 0.0f), db(b.size(), 0.0f);
  train::linear_backward(x.data(), n, in, w.data(), out, r.data(), dx.data(), dw.data(), db.data());
  require_close(train::check_gradient(loss, x, dx, fd_eps));
  require_close(train::check_gradient(loss, w, dw, fd_eps));
  require_close(train::check_gradient(loss, b, db, fd_eps));
}

TEST_CASE("train layer_norm and gelu: forward is the inference op, backward vs finite differences", "[train]") {
  const std::size_t rows = 3;
  const int n = 9;
  auto x = randn(rows * n, 5, 2.0), gamma = randn(sz_t(n), 6), beta = randn(sz_t(n), 7), r = randn(rows * n, 8);
  std::vector<float> y;
  auto forward = [&] {
    y = x;
    train::layer_norm_forward(y.data(), rows, n, gamma.data(), beta.data());
    return dot(r, y);
  };
  forward();
  std::vector<float> ref = x;
  for (std::size_t i = 0; i < rows; ++i) sea::cnn::layer_norm(ref.data() + i * n, n, gamma.data(), beta.data());
  REQUIRE(y == ref);
  std::vector<float> dx(x.size()), dg(gamma.size(), 0.0f), dbeta(beta.size(), 0.0f);
  train::layer_norm_backward(x.data(), rows, n, gamma.data(), r.data(), dx.data(), dg.data(), dbeta.data());
  require_close(train::check_gradient(forward, x, dx, fd_eps));
  require_close(train::check_gradient(forward, gamma, dg, fd_eps));
  require_close(train::check_gradient(forward, beta, dbeta, fd_eps));

  auto gelu_loss = [&] {
    y = x;
    train::gelu_forward(y.data(), y.size());
    return dot(r, y);
  };
  gelu_loss();
  for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(y[i] == sea::cnn::gelu(x[i]));
  train::gelu_backward(x.data(), r.data(), dx.data(), x.size());
  require_close(train::check_gradient(gelu_loss, x, dx, fd_eps));
}

TEST_CASE("train conv2d: forward is sea::cnn::conv2d; backward vs finite differences for every geometry", "[train]") {
  struct geometry_case {
    const char* name;
    sea::cnn::conv_geometry g;
    bool causal;
    bool relu;
  };
  const geometry_case cases[] = {
      {"3x3 pad 1", {.cin = 3, .cout = 2, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 1,
                     .pad_w = 1, .up_t = 1}, false, true},
      {"stride (2,1)", {.cin = 2, .cout = 3, .kt = 3, .kw = 3, .stride_t = 2, .dil_t = 1, .dil_w = 1, .pad_t = 1,
                        .pad_w = 1, .up_t = 1}, false, false},
      {"nearest x2 in time", {.cin = 2, .cout = 2, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 1, .dil_w = 1,
                              .pad_t = 1, .pad_w = 1, .up_t = 2}, false, false},
      {"causal dilation 2", {.cin = 2, .cout = 2, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 2, .dil_w = 2,
                             .pad_t = 4, .pad_w = 2, .up_t = 1}, true, true},
      {"1x1", {.cin = 3, .cout = 2, .kt = 1, .kw = 1, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 0, .pad_w = 0,
               .up_t = 1}, true, false},
  };
  for (const auto& gc : cases) {
    SECTION(gc.name) {
      const int t_in = 9, w_in = 6;
      conv_layer L;
      L.g = gc.g;
      L.causal = gc.causal;
      auto w = randn(sz_t(L.g.cout * L.g.cin * L.g.kt * L.g.kw), 11), b = randn(sz_t(L.g.cout), 12);
      auto x = randn(sz_t(L.g.cin * t_in * w_in), 13);
      L.weight = w.data();
      L.bias = b.data();
      const int t_out = sea::cnn::conv_out_rows(L, t_in), w_out = L.g.out_cols(w_in);
      auto r = randn(sz_t(L.g.cout * t_out * w_out), 14);
      std::vector<float> y(r.size());
      auto loss = [&] {
        train::conv2d_forward(L, x.data(), t_in, w_in, y.data(), gc.relu);
        return dot(r, y);
      };
      loss();
      // Direct definition (conv_geometry's comment) in double.
      for (int co = 0; co < L.g.cout; ++co)
        for (int t = 0; t < t_out; ++t)
          for (int c = 0; c < w_out; ++c) {
            double s = b[sz_t(co)];
            for (int ci = 0; ci < L.g.cin; ++ci)
              for (int i = 0; i < L.g.kt; ++i)
                for (int j = 0; j < L.g.kw; ++j) {
                  const int row = t * (L.causal ? 1 : L.g.stride_t) + i * L.g.dil_t - L.g.pad_t;
                  const int col = c + j * L.g.dil_w - L.g.pad_w;
                  if (row < 0 || row >= t_in * L.g.up_t || col < 0 || col >= w_in) continue;
                  s += static_cast<double>(w[sz_t(((co * L.g.cin + ci) * L.g.kt + i) * L.g.kw + j)]) *
                       x[sz_t((ci * t_in + row / L.g.up_t) * w_in + col)];
                }
            if (gc.relu) s = std::max(s, 0.0);
            REQUIRE(y[sz_t((co * t_out + t) * w_out + c)] == Approx(s).margin(1e-5));
          }
      std::vector<float> dy = r, dx(x.size()), dw(w.size(), 0.0f), db(b.size(), 0.0f);
      if (gc.relu) train::relu_backward_inplace(y.data(), dy.data(), dy.size());
      train::conv2d_backward(L, x.data(), t_in, w_in, dy.data(), dx.data(), dw.data(), db.data());
      require_close(train::check_gradient(loss, x, dx, fd_eps));
      require_close(train::check_gradient(loss, w, dw, fd_eps));
      require_close(train::check_gradient(loss, b, db, fd_eps));
    }
  }
}

TEST_CASE("train resampling: nearest, area and bilinear backward vs finite differences", "[train]") {
  SECTION("nearest upsampling") {
    const int c = 2, t = 3, w = 4, ft = 2, fw = 3;
    auto x = randn(sz_t(c * t * w), 21), r = randn(sz_t(c * t * ft * w * fw), 22);
    std::vector<float> y(r.size()), dx(x.size());
    auto loss = [&] {
      train::upsample_nearest_forward(x.data(), c, t, w, ft, fw, y.data());
      return dot(r, y);
    };
    loss();
    REQUIRE(y[sz_t((1 * t * ft + 5) * w * fw + 7)] == x[sz_t((1 * t + 2) * w + 2)]);
    train::upsample_nearest_backward(r.data(), c, t, w, ft, fw, dx.data());
    require_close(train::check_gradient(loss, x, dx, fd_eps));
  }
  SECTION("area resize, shrinking by a non-integer factor") {
    const int w_in = 34, w_out = 32;
    auto x = randn(sz_t(w_in), 23), r = randn(sz_t(w_out), 24);
    std::vector<float> y(sz_t(w_out)), ref(sz_t(w_out)), dx(x.size(), 0.0f);
    auto loss = [&] {
      train::area_resize_row_forward(x.data(), w_in, y.data(), w_out);
      return dot(r, y);
    };
    loss();
    sea::cnn::area_resize_row(x.data(), w_in, ref.data(), w_out);
    REQUIRE(y == ref);
    train::area_resize_row_backward(r.data(), w_in, w_out, dx.data());
    require_close(train::check_gradient(loss, x, dx, fd_eps));
  }
  SECTION("bilinear resize, widening") {
    const int c = 2, t_in = 5, w_in = 4, t_out = 10, w_out = 8;
    auto x = randn(sz_t(c * t_in * w_in), 25), r = randn(sz_t(c * t_out * w_out), 26);
    std::vector<float> y(r.size()), ref(r.size()), dx(x.size());
    auto loss = [&] {
      train::resize_bilinear_forward(x.data(), c, t_in, w_in, y.data(), t_out, w_out);
      return dot(r, y);
    };
    loss();
    sea::cnn::resize_bilinear(x.data(), c, t_in, w_in, ref.data(), t_out, w_out, sz_t(t_out * w_out), w_out);
    REQUIRE(y == ref);
    train::resize_bilinear_backward(r.data(), c, t_in, w_in, t_out, w_out, dx.data());
    require_close(train::check_gradient(loss, x, dx, fd_eps));
  }
}

TEST_CASE("train softmax, KL and MSE: values and gradients", "[train]") {
  const int n = 7;
  auto x = randn(sz_t(n), 31), r = randn(sz_t(n), 32), p0 = randn(sz_t(n), 33);
  std::vector<float> y(sz_t(n)), dx(sz_t(n)), p(sz_t(n));
  train::softmax_forward(p0.data(), n, p.data());  // a target distribution
  auto sm_loss = [&] {
    train::softmax_forward(x.data(), n, y.data());
    return dot(r, y);
  };
  sm_loss();
  double total = 0;
  for (float v : y) total += v;
  REQUIRE(total == Approx(1.0).epsilon(1e-6));
  train::softmax_backward(y.data(), r.data(), n, dx.data());
  require_close(train::check_gradient(sm_loss, x, dx, fd_eps));

  std::vector<float> dq(sz_t(n));
  auto kl_loss = [&] {
    train::softmax_forward(x.data(), n, y.data());
    return train::kl_divergence(p.data(), y.data(), n, nullptr);
  };
  kl_loss();
  REQUIRE(train::kl_divergence(p.data(), p.data(), n, nullptr) == Approx(0.0).margin(1e-12));
  REQUIRE(kl_loss() > 0);
  train::kl_divergence(p.data(), y.data(), n, dq.data());
  train::softmax_backward(y.data(), dq.data(), n, dx.data());
  require_close(train::check_gradient(kl_loss, x, dx, fd_eps));

  std::vector<float> da(sz_t(n));
  auto mse_loss = [&] { return train::mean_squared_error(x.data(), p.data(), sz_t(n), nullptr); };
  train::mean_squared_error(x.data(), p.data(), sz_t(n), da.data());
  require_close(train::check_gradient(mse_loss, x, da, fd_eps));
}

TEST_CASE("train binned attention loss equals the official loss on the upsampled row", "[train]") {
  // One query row of L keys in K bins of sizes n_b; the teacher P over keys; the estimate's scores s_b.
  const int K = 5;
  const std::vector<int> sizes = {3, 0, 2, 4, 1};
  const int L = 10;
  auto logits = randn(sz_t(L), 41), s = randn(sz_t(K), 42);
  std::vector<float> P(sz_t(L));
  train::softmax_forward(logits.data(), L, P.data());
  std::vector<float> mass(sz_t(K), 0.0f);
  double plogp = 0, p2 = 0;
  {
    int j = 0;
    for (int b = 0; b < K; ++b)
      for (int i = 0; i < sizes[sz_t(b)]; ++i, ++j) {
        mass[sz_t(b)] += P[sz_t(j)];
        plogp += P[sz_t(j)] * std::log(static_cast<double>(P[sz_t(j)]));
        p2 += static_cast<double>(P[sz_t(j)]) * P[sz_t(j)];
      }
  }
  const train::binned_teacher_row row{mass.data(), sizes.data(), plogp, p2};
  // Reference: upsample s to the L keys, softmax over them, KL and Σ squared error over keys.
  auto reference = [&](double& kl, double& sse) {
    std::vector<float> up;
    for (int b = 0; b < K; ++b)
      for (int i = 0; i < sizes[sz_t(b)]; ++i) up.push_back(s[sz_t(b)]);
    std::vector<float> Q(sz_t(L));
    train::softmax_forward(up.data(), L, Q.data());
    kl = train::kl_divergence(P.data(), Q.data(), L, nullptr);
    sse = train::mean_squared_error(Q.data(), P.data(), sz_t(L), nullptr) * L;
  };
  double kl = 0, sse = 0;
  reference(kl, sse);
  const train::attention_loss_weights w;
  const auto got = train::binned_attention_loss(s.data(), K, row, 1.0, 1.0, w, nullptr);
  REQUIRE(got.kl == Approx(kl).epsilon(1e-5));
  REQUIRE(got.sse == Approx(sse).epsilon(1e-4));
  std::vector<float> ds(sz_t(K));
  const double kl_scale = 1.0 / 3, sse_scale = 1.0 / 7;
  train::binned_attention_loss(s.data(), K, row, kl_scale, sse_scale, w, ds.data());
  REQUIRE(ds[1] == 0.0f);  // the empty bin
  auto loss = [&] {
    const auto l = train::binned_attention_loss(s.data(), K, row, 1.0, 1.0, w, nullptr);
    return w.kl * l.kl * kl_scale + w.mse * l.sse * sse_scale;
  };
  require_close(train::check_gradient(loss, s, ds, fd_eps));
}
