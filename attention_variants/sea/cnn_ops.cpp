#include "attention_variants/sea/cnn_ops.hpp"

#include <algorithm>
#include <cmath>

#include "harness/core/blas.hpp"

namespace sb::sea::cnn {
namespace {

constexpr int im2col_target_columns = 1024;  // output pixels per GEMM chunk

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

int chunk_rows(int t_out, int w_out) { return std::clamp(im2col_target_columns / std::max(1, w_out), 1, std::max(1, t_out)); }

}  // namespace

int conv_out_rows(const conv_layer& layer, int t_in) {
  return layer.causal ? t_in * layer.g.up_t : layer.g.out_rows(t_in);
}

std::size_t conv_scratch_floats(const conv_layer& layer, int t_out, int w_out) {
  const conv_geometry& g = layer.g;
  return sz(g.cin) * g.kt * g.kw * sz(chunk_rows(t_out, w_out)) * w_out;
}

void conv2d(const conv_layer& layer, const float* in, int t_in, int w_in, float* out, bool relu, float* scratch) {
  const conv_geometry& g = layer.g;
  const int t_out = conv_out_rows(layer, t_in), w_out = g.out_cols(w_in);
  const int stride_t = layer.causal ? 1 : g.stride_t;
  const int virtual_rows = t_in * g.up_t;
  const int kdim = g.cin * g.kt * g.kw;
  const int nt_max = chunk_rows(t_out, w_out);
  const std::size_t plane_out = sz(t_out) * w_out;
  for (int co = 0; co < g.cout; ++co)
    std::fill_n(out + sz(co) * plane_out, plane_out, layer.bias ? layer.bias[co] : 0.0f);
  for (int t0 = 0; t0 < t_out; t0 += nt_max) {
    const int nt = std::min(nt_max, t_out - t0);
    const int ncols = nt * w_out;
    // im2col: row (ci, i, j), column (t − t0, w).
    for (int ci = 0; ci < g.cin; ++ci)
      for (int i = 0; i < g.kt; ++i)
        for (int j = 0; j < g.kw; ++j) {
          float* col = scratch + (sz(ci) * g.kt * g.kw + sz(i) * g.kw + j) * ncols;
          for (int tt = 0; tt < nt; ++tt) {
            const int r = (t0 + tt) * stride_t + i * g.dil_t - g.pad_t;
            float* dst = col + sz(tt) * w_out;
            if (r < 0 || r >= virtual_rows) {
              std::fill_n(dst, w_out, 0.0f);
              continue;
            }
            const float* src = in + (sz(ci) * t_in + r / g.up_t) * w_in;
            for (int w = 0; w < w_out; ++w) {
              const int c = w + j * g.dil_w - g.pad_w;
              dst[w] = (c >= 0 && c < w_in) ? src[c] : 0.0f;
            }
          }
        }
    blas::sgemm(false, false, g.cout, ncols, kdim, 1.0f, layer.weight, kdim, scratch, ncols, 1.0f,
                out + sz(t0) * w_out, static_cast<int>(plane_out));
  }
  if (relu)
    for (std::size_t i = 0; i < sz(g.cout) * plane_out; ++i) out[i] = std::max(out[i], 0.0f);
}

void resize_bilinear(const float* in, int c, int t_in, int w_in, float* out, int t_out, int w_out,
                     std::size_t cso, int ldo) {
  auto source = [](int dst, int n_in, int n_out, int& i0, int& i1, float& l1) {
    const float scale = static_cast<float>(n_in) / static_cast<float>(n_out);
    const float src = std::max(scale * (static_cast<float>(dst) + 0.5f) - 0.5f, 0.0f);
    i0 = std::min(static_cast<int>(src), n_in - 1);
    i1 = i0 + (i0 < n_in - 1 ? 1 : 0);
    l1 = src - static_cast<float>(i0);
  };
  for (int t = 0; t < t_out; ++t) {
    int r0, r1;
    float lr;
    source(t, t_in, t_out, r0, r1, lr);
    for (int w = 0; w < w_out; ++w) {
      int c0, c1;
      float lc;
      source(w, w_in, w_out, c0, c1, lc);
      for (int ch = 0; ch < c; ++ch) {
        const float* plane = in + sz(ch) * t_in * w_in;
        const float top = (1.0f - lc) * plane[sz(r0) * w_in + c0] + lc * plane[sz(r0) * w_in + c1];
        const float bottom = (1.0f - lc) * plane[sz(r1) * w_in + c0] + lc * plane[sz(r1) * w_in + c1];
        out[sz(ch) * cso + sz(t) * ldo + w] = (1.0f - lr) * top + lr * bottom;
      }
    }
  }
}

void area_resize_row(const float* in, int w_in, float* out, int w_out) {
  for (int w = 0; w < w_out; ++w) {
    const long long start = static_cast<long long>(w) * w_in / w_out;
    const long long end = (static_cast<long long>(w + 1) * w_in + w_out - 1) / w_out;
    float sum = 0;
    for (long long c = start; c < end; ++c) sum += in[c];
    out[w] = sum / static_cast<float>(end - start);
  }
}

void layer_norm(float* x, int n, const float* gamma, const float* beta) {
  double mean = 0;
  for (int i = 0; i < n; ++i) mean += x[i];
  mean /= n;
  double var = 0;
  for (int i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= n;
  const double inv = 1.0 / std::sqrt(var + 1e-5);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>((x[i] - mean) * inv) * gamma[i] + beta[i];
}

float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

}  // namespace sb::sea::cnn
