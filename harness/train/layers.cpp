#include "harness/train/layers.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "harness/core/blas.hpp"

namespace sb::train {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

/// PyTorch's source index and weight of one bilinear output coordinate (align_corners=False), exactly as
/// sea::cnn::resize_bilinear computes them.
void bilinear_source(int dst, int n_in, int n_out, int& i0, int& i1, float& l1) {
  const float scale = static_cast<float>(n_in) / static_cast<float>(n_out);
  const float src = std::max(scale * (static_cast<float>(dst) + 0.5f) - 0.5f, 0.0f);
  i0 = std::min(static_cast<int>(src), n_in - 1);
  i1 = i0 + (i0 < n_in - 1 ? 1 : 0);
  l1 = src - static_cast<float>(i0);
}

constexpr int backward_chunk_columns = 1024;  // output pixels per im2col chunk in conv2d_backward

}  // namespace

void linear_forward(const float* x, int n, int in, const float* w, const float* b, int out, float* y) {
  for (int r = 0; r < n; ++r) std::copy_n(b, out, y + sz(r) * out);
  blas::sgemm(false, true, n, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

void linear_backward(const float* x, int n, int in, const float* w, int out, const float* dy, float* dx, float* dw,
                     float* db) {
  if (dw) blas::sgemm(true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
  if (db)
    for (int r = 0; r < n; ++r)
      for (int o = 0; o < out; ++o) db[o] += dy[sz(r) * out + o];
  if (dx) blas::sgemm(false, false, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

void layer_norm_forward(float* x, std::size_t rows, int n, const float* gamma, const float* beta) {
  for (std::size_t r = 0; r < rows; ++r) sea::cnn::layer_norm(x + r * n, n, gamma, beta);
}

void layer_norm_backward(const float* x_in, std::size_t rows, int n, const float* gamma, const float* dy, float* dx,
                         float* dgamma, float* dbeta) {
  std::vector<double> xhat(sz(n)), g(sz(n));
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = x_in + r * n;
    const float* d = dy + r * n;
    double mean = 0;
    for (int i = 0; i < n; ++i) mean += x[i];
    mean /= n;
    double var = 0;
    for (int i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    const double inv = 1.0 / std::sqrt(var + 1e-5);
    double mean_g = 0, mean_gx = 0;
    for (int i = 0; i < n; ++i) {
      xhat[sz(i)] = (x[i] - mean) * inv;
      g[sz(i)] = static_cast<double>(d[i]) * gamma[i];
      mean_g += g[sz(i)];
      mean_gx += g[sz(i)] * xhat[sz(i)];
      if (dgamma) dgamma[i] += static_cast<float>(d[i] * xhat[sz(i)]);
      if (dbeta) dbeta[i] += d[i];
    }
    mean_g /= n;
    mean_gx /= n;
    if (dx)
      for (int i = 0; i < n; ++i)
        dx[r * n + sz(i)] = static_cast<float>(inv * (g[sz(i)] - mean_g - xhat[sz(i)] * mean_gx));
  }
}

void gelu_forward(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = sea::cnn::gelu(x[i]);
}

void gelu_backward(const float* x_in, const float* dy, float* dx, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const double x = x_in[i];
    const double cdf = 0.5 * (1.0 + std::erf(x * 0.70710678118654752));
    const double pdf = 0.39894228040143268 * std::exp(-0.5 * x * x);
    dx[i] = static_cast<float>(dy[i] * (cdf + x * pdf));
  }
}

void relu_backward_inplace(const float* y, float* dy, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!(y[i] > 0.0f)) dy[i] = 0.0f;
}

void conv2d_forward(const sea::cnn::conv_layer& L, const float* in, int t_in, int w_in, float* out, bool relu) {
  const int t_out = sea::cnn::conv_out_rows(L, t_in);
  std::vector<float> scratch(sea::cnn::conv_scratch_floats(L, t_out, L.g.out_cols(w_in)));
  sea::cnn::conv2d(L, in, t_in, w_in, out, relu, scratch.data());
}

void conv2d_backward(const sea::cnn::conv_layer& L, const float* in, int t_in, int w_in, const float* dout, float* din,
                     float* dw, float* db) {
  const sea::cnn::conv_geometry& g = L.g;
  const int t_out = sea::cnn::conv_out_rows(L, t_in), w_out = g.out_cols(w_in);
  const int stride_t = L.causal ? 1 : g.stride_t;
  const int virtual_rows = t_in * g.up_t;
  const int kdim = g.cin * g.kt * g.kw;
  const std::size_t plane_out = sz(t_out) * w_out;
  if (db)
    for (int co = 0; co < g.cout; ++co) {
      double s = 0;
      for (std::size_t i = 0; i < plane_out; ++i) s += dout[sz(co) * plane_out + i];
      db[co] += static_cast<float>(s);
    }
  if (din) std::fill_n(din, sz(g.cin) * t_in * w_in, 0.0f);
  const int nt_max = std::clamp(backward_chunk_columns / std::max(1, w_out), 1, std::max(1, t_out));
  std::vector<float> col(sz(kdim) * nt_max * w_out), dcol(din ? col.size() : 0);
  // The same im2col mapping as the forward: row (ci, i, j), column (t − t0, w) reads virtual row
  // r = t·stride + i·dil_t − pad_t (real row r / up_t) and column c = w + j·dil_w − pad_w.
  auto for_each_tap = [&](int t0, int nt, auto&& visit) {
    const int ncols = nt * w_out;
    for (int ci = 0; ci < g.cin; ++ci)
      for (int i = 0; i < g.kt; ++i)
        for (int j = 0; j < g.kw; ++j) {
          const std::size_t rowi = (sz(ci) * g.kt * g.kw + sz(i) * g.kw + j) * ncols;
          for (int tt = 0; tt < nt; ++tt) {
            const int r = (t0 + tt) * stride_t + i * g.dil_t - g.pad_t;
            const bool row_ok = r >= 0 && r < virtual_rows;
            const std::size_t src = row_ok ? (sz(ci) * t_in + r / g.up_t) * w_in : 0;
            for (int w = 0; w < w_out; ++w) {
              const int c = w + j * g.dil_w - g.pad_w;
              visit(rowi + sz(tt) * w_out + w, row_ok && c >= 0 && c < w_in, src + sz(c));
            }
          }
        }
  };
  for (int t0 = 0; t0 < t_out; t0 += nt_max) {
    const int nt = std::min(nt_max, t_out - t0);
    const int ncols = nt * w_out;
    const float* dchunk = dout + sz(t0) * w_out;
    if (dw) {
      for_each_tap(t0, nt, [&](std::size_t k, bool ok, std::size_t s) { col[k] = ok ? in[s] : 0.0f; });
      blas::sgemm(false, true, g.cout, kdim, ncols, 1.0f, dchunk, static_cast<int>(plane_out), col.data(), ncols, 1.0f,
                  dw, kdim);
    }
    if (din) {
      blas::sgemm(true, false, kdim, ncols, g.cout, 1.0f, L.weight, kdim, dchunk, static_cast<int>(plane_out), 0.0f,
                  dcol.data(), ncols);
      for_each_tap(t0, nt, [&](std::size_t k, bool ok, std::size_t s) {
        if (ok) din[s] += dcol[k];
      });
    }
  }
}

void upsample_nearest_forward(const float* in, int c, int t, int w, int ft, int fw, float* out) {
  const int wo = w * fw;
  for (int ch = 0; ch < c; ++ch)
    for (int r = 0; r < t * ft; ++r)
      for (int x = 0; x < wo; ++x) out[(sz(ch) * t * ft + r) * wo + x] = in[(sz(ch) * t + r / ft) * w + x / fw];
}

void upsample_nearest_backward(const float* dout, int c, int t, int w, int ft, int fw, float* din) {
  const int wo = w * fw;
  std::fill_n(din, sz(c) * t * w, 0.0f);
  for (int ch = 0; ch < c; ++ch)
    for (int r = 0; r < t * ft; ++r)
      for (int x = 0; x < wo; ++x) din[(sz(ch) * t + r / ft) * w + x / fw] += dout[(sz(ch) * t * ft + r) * wo + x];
}

void area_resize_row_forward(const float* in, int w_in, float* out, int w_out) {
  sea::cnn::area_resize_row(in, w_in, out, w_out);
}

void area_resize_row_backward(const float* dout, int w_in, int w_out, float* din) {
  for (int w = 0; w < w_out; ++w) {
    const long long start = static_cast<long long>(w) * w_in / w_out;
    const long long end = (static_cast<long long>(w + 1) * w_in + w_out - 1) / w_out;
    const float share = dout[w] / static_cast<float>(end - start);
    for (long long c = start; c < end; ++c) din[c] += share;
  }
}

void resize_bilinear_forward(const float* in, int c, int t_in, int w_in, float* out, int t_out, int w_out) {
  sea::cnn::resize_bilinear(in, c, t_in, w_in, out, t_out, w_out, sz(t_out) * w_out, w_out);
}

void resize_bilinear_backward(const float* dout, int c, int t_in, int w_in, int t_out, int w_out, float* din) {
  std::fill_n(din, sz(c) * t_in * w_in, 0.0f);
  for (int t = 0; t < t_out; ++t) {
    int r0, r1;
    float lr;
    bilinear_source(t, t_in, t_out, r0, r1, lr);
    for (int w = 0; w < w_out; ++w) {
      int c0, c1;
      float lc;
      bilinear_source(w, w_in, w_out, c0, c1, lc);
      for (int ch = 0; ch < c; ++ch) {
        const float d = dout[(sz(ch) * t_out + t) * w_out + w];
        float* plane = din + sz(ch) * t_in * w_in;
        plane[sz(r0) * w_in + c0] += (1.0f - lr) * (1.0f - lc) * d;
        plane[sz(r0) * w_in + c1] += (1.0f - lr) * lc * d;
        plane[sz(r1) * w_in + c0] += lr * (1.0f - lc) * d;
        plane[sz(r1) * w_in + c1] += lr * lc * d;
      }
    }
  }
}

void softmax_forward(const float* x, int n, float* y) {
  const float mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    y[i] = std::exp(x[i] - mx);
    sum += y[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int i = 0; i < n; ++i) y[i] *= inv;
}

void softmax_backward(const float* y, const float* dy, int n, float* dx) {
  double dot = 0;
  for (int i = 0; i < n; ++i) dot += static_cast<double>(y[i]) * dy[i];
  for (int i = 0; i < n; ++i) dx[i] = static_cast<float>(y[i] * (dy[i] - dot));
}

}  // namespace sb::train
