// Tensor operations of SEA's learned estimator (sea-algorithm.md §4–§5), on one sample's images laid
// out [channels, time, width] row-major, fp32. Convolutions are im2col over chunks of output rows plus
// one sgemm per chunk, so scratch memory does not grow with T. The PyTorch semantics they reproduce are
// named per function; docs/sea.md lists them.
#pragma once

#include <cstddef>

namespace sb::sea::cnn {

/// Geometry of a 2-D convolution over [cin, t_in, w_in] → [cout, t_out, w_out] with taps (kt × kw).
/// Output (t, w), tap (i, j) reads the virtual input row r = t·stride_t + i·dil_t − pad_t and column
/// c = w + j·dil_w − pad_w; the virtual input is the real one upsampled (nearest) by `up_t` along time,
/// i.e. real row floor(r / up_t), and is zero outside [0, t_in·up_t) × [0, w_in).
/// A causal convolution uses pad_t = (kt − 1)·dil_t, so every tap reads rows ≤ t (offsets −(kt−1)·dil_t … 0).
struct conv_geometry {
  int cin = 1, cout = 1, kt = 3, kw = 3;
  int stride_t = 1, dil_t = 1, dil_w = 1, pad_t = 1, pad_w = 1, up_t = 1;
  [[nodiscard]] int out_rows(int t_in) const { return (t_in * up_t + 2 * pad_t - dil_t * (kt - 1) - 1) / stride_t + 1; }
  [[nodiscard]] int out_cols(int w_in) const { return w_in + 2 * pad_w - dil_w * (kw - 1); }
};

struct conv_layer {
  conv_geometry g;
  bool causal = false;  ///< zero padding on the past side only: t_out = t_in·up_t (stride 1)
  const float* weight = nullptr;  ///< [cout, cin, kt, kw] (PyTorch order)
  const float* bias = nullptr;    ///< [cout] or null
};

/// Output rows of `layer` for `t_in` input rows.
[[nodiscard]] int conv_out_rows(const conv_layer& layer, int t_in);
/// Floats of im2col scratch conv2d needs for this layer, output rows and output width.
[[nodiscard]] std::size_t conv_scratch_floats(const conv_layer& layer, int t_out, int w_out);

/// out[cout, t_out, w_out] = bias + Σ taps weight · input, optionally followed by ReLU.
/// Causal layers: virtual row r = t + i·dil_t − pad_t reads only rows ≤ t. `scratch` holds
/// conv_scratch_floats(layer, t_out, w_out) floats.
void conv2d(const conv_layer& layer, const float* in, int t_in, int w_in, float* out, bool relu, float* scratch);

/// PyTorch F.interpolate(mode='bilinear', align_corners=False) of [c, t_in, w_in] to [c, t_out, w_out],
/// output rows written with leading dimension `ldo` and channel stride `cso`.
void resize_bilinear(const float* in, int c, int t_in, int w_in, float* out, int t_out, int w_out,
                     std::size_t cso, int ldo);

/// PyTorch mode='area' (adaptive average pooling) along width only, one row: out[w] = mean of
/// in[floor(w·w_in/w_out) .. ceil((w+1)·w_in/w_out)).
void area_resize_row(const float* in, int w_in, float* out, int w_out);

/// LayerNorm over `n` values in place (biased variance, eps 1e-5 as nn.LayerNorm), then γ, β.
void layer_norm(float* x, int n, const float* gamma, const float* beta);

/// GELU with the exact erf form (nn.GELU default).
[[nodiscard]] float gelu(float x);

}  // namespace sb::sea::cnn
