// Training layers with hand-written backward passes, fp32, for distilling SEA's learned estimator
// (docs/distill.md). Every forward IS the inference op of attention_variants/sea/cnn_ops.hpp (or the
// estimator's own sgemm), so a trained estimator computes exactly what `estimator = performer` computes.
// Backward functions ACCUMULATE into parameter gradients (dw, db, dgamma, ...) and, unless stated,
// OVERWRITE the input gradient dx (null = not needed). Layouts are the forward's.
#pragma once

#include <cstddef>

#include "attention_variants/sea/cnn_ops.hpp"

namespace sb::train {

// ---- Linear: y[n, out] = x[n, in]·Wᵀ + b (W [out, in], PyTorch layout) --------------------------------
void linear_forward(const float* x, int n, int in, const float* w, const float* b, int out, float* y);
/// dw += dyᵀ·x, db += Σ_rows dy, dx = dy·W.
void linear_backward(const float* x, int n, int in, const float* w, int out, const float* dy, float* dx, float* dw,
                     float* db);

// ---- LayerNorm over each row of `n` values (eps 1e-5, biased variance) ---------------------------------
/// In place, row by row (sea::cnn::layer_norm).
void layer_norm_forward(float* x, std::size_t rows, int n, const float* gamma, const float* beta);
/// x_in: the forward's input. dgamma += Σ dy·x̂, dbeta += Σ dy, dx = γ-weighted LayerNorm backward.
void layer_norm_backward(const float* x_in, std::size_t rows, int n, const float* gamma, const float* dy, float* dx,
                         float* dgamma, float* dbeta);

// ---- Activations ----------------------------------------------------------------------------------
/// GELU with the erf form, elementwise in place (sea::cnn::gelu).
void gelu_forward(float* x, std::size_t n);
/// x_in: the forward's input; dx = dy·(Φ(x) + x·φ(x)).
void gelu_backward(const float* x_in, const float* dy, float* dx, std::size_t n);
/// dy *= (y > 0) in place, y the ReLU's output.
void relu_backward_inplace(const float* y, float* dy, std::size_t n);

// ---- 2-D convolution (sea::cnn::conv_layer geometry: stride, dilation, padding, time upsampling, causal)
/// out = conv(in) (+ ReLU): sea::cnn::conv2d with its own scratch.
void conv2d_forward(const sea::cnn::conv_layer& L, const float* in, int t_in, int w_in, float* out, bool relu);
/// dout: gradient w.r.t. the conv output BEFORE any ReLU (apply relu_backward_inplace first).
/// dw += ∂/∂W [cout, cin, kt, kw], db += ∂/∂b (if non-null), din = ∂/∂in (if non-null, overwritten).
void conv2d_backward(const sea::cnn::conv_layer& L, const float* in, int t_in, int w_in, const float* dout, float* din,
                     float* dw, float* db);

// ---- Resampling -------------------------------------------------------------------------------------
/// Nearest upsampling of [c, t, w] by integer factors: out[c, t·ft, w·fw], out(t', w') = in(t'/ft, w'/fw).
void upsample_nearest_forward(const float* in, int c, int t, int w, int ft, int fw, float* out);
/// din = Σ of dout over each source pixel's copies (overwritten).
void upsample_nearest_backward(const float* dout, int c, int t, int w, int ft, int fw, float* din);
/// Area resize of one row w_in → w_out (sea::cnn::area_resize_row).
void area_resize_row_forward(const float* in, int w_in, float* out, int w_out);
/// din += each output's gradient spread evenly over its source window.
void area_resize_row_backward(const float* dout, int w_in, int w_out, float* din);
/// Bilinear resize (align_corners=False) of [c, t_in, w_in] to a dense [c, t_out, w_out] (sea::cnn::resize_bilinear).
void resize_bilinear_forward(const float* in, int c, int t_in, int w_in, float* out, int t_out, int w_out);
/// din = transpose of the bilinear map applied to dout [c, t_out, w_out] (overwritten).
void resize_bilinear_backward(const float* dout, int c, int t_in, int w_in, int t_out, int w_out, float* din);

// ---- Softmax over one row ---------------------------------------------------------------------------
/// y = softmax(x) over n values (max-subtracted, fp32 exp, double sum).
void softmax_forward(const float* x, int n, float* y);
/// dx = y ⊙ (dy − Σ y·dy).
void softmax_backward(const float* y, const float* dy, int n, float* dx);

}  // namespace sb::train
