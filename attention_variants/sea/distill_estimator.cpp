#include "attention_variants/sea/distill_estimator.hpp"

#include <algorithm>
#include <cmath>

#include "attention_variants/performer/favor.hpp"
#include "attention_variants/sea/cnn_ops.hpp"
#include "harness/core/errors.hpp"
#include "harness/train/layers.hpp"

namespace sb::sea::distill {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }

/// The CNN layers of learned_estimator.cpp (conv_layer_of): same geometry, same weights.
cnn::conv_layer conv_of(bool causal, int index, int C, int H, const performer_weights& w) {
  cnn::conv_layer L;
  if (!causal) {
    L.g = {.cin = C, .cout = index == 3 ? H : C, .kt = 3, .kw = 3, .stride_t = index == 1 ? 2 : 1, .dil_t = 1,
           .dil_w = 1, .pad_t = 1, .pad_w = 1, .up_t = index == 3 ? 2 : 1};
  } else if (index < 3) {
    L.g = {.cin = C, .cout = C, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 2, .dil_w = 2, .pad_t = 4, .pad_w = 2,
           .up_t = 1};
    L.causal = true;
  } else {
    L.g = {.cin = C, .cout = H, .kt = 1, .kw = 1, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 0, .pad_w = 0,
           .up_t = 1};
    L.causal = true;
  }
  const std::vector<float>* wt[] = {&w.conv1_w, &w.conv2_w, &w.conv3_w};
  const std::vector<float>* bs[] = {&w.conv1_b, &w.conv2_b, &w.conv3_b};
  L.weight = wt[index - 1]->data();
  L.bias = bs[index - 1]->data();
  return L;
}

favor::settings performer_settings(bool causal) {
  favor::settings s;
  s.kernel = causal ? favor::kernel_kind::relu : favor::kernel_kind::softmax;
  s.causal = causal;
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<float>*>> trainable_tensors(performer_weights& w, bool causal) {
  std::vector<std::pair<std::string, std::vector<float>*>> t;
  if (causal) t.emplace_back("position_table", &w.position_table);
  t.emplace_back("encoder.weight", &w.enc_w);
  t.emplace_back("encoder.bias", &w.enc_b);
  t.emplace_back("encoder.norm.weight", &w.enc_gamma);
  t.emplace_back("encoder.norm.bias", &w.enc_beta);
  t.emplace_back("row_decoder.weight", &w.row_w);
  t.emplace_back("row_decoder.bias", &w.row_b);
  if (causal) {
    t.emplace_back("cnn.norm1.weight", &w.norm1_gamma);
    t.emplace_back("cnn.norm1.bias", &w.norm1_beta);
  }
  t.emplace_back("cnn.conv1.weight", &w.conv1_w);
  t.emplace_back("cnn.conv1.bias", &w.conv1_b);
  t.emplace_back("cnn.conv2.weight", &w.conv2_w);
  t.emplace_back("cnn.conv2.bias", &w.conv2_b);
  t.emplace_back("cnn.conv3.weight", &w.conv3_w);
  t.emplace_back("cnn.conv3.bias", &w.conv3_b);
  if (causal) {
    t.emplace_back("cnn.norm2.weight", &w.norm2_gamma);
    t.emplace_back("cnn.norm2.bias", &w.norm2_beta);
  }
  return t;
}

performer_weights zeros_like(const performer_weights& w, bool causal) {
  performer_weights z = w;
  for (auto& [name, v] : trainable_tensors(z, causal)) std::fill(v->begin(), v->end(), 0.0f);
  return z;
}

trainable_estimator::trainable_estimator(const problem& p, const config& c) : m_p(p), m_c(c) {
  if (p.batch != 1) throw unsupported_case("sea distillation: the trainable estimator takes one sample (batch = 1)");
  if (c.query_skip != 1) throw unsupported_case("sea distillation: query_skip must be 1");
  const decoder_split split = row_decoder_split(p.causal);
  if (c.K % split.downscale != 0)
    throw unsupported_case("sea distillation: K must be divisible by the row decoder's downscale factor");
  m_H = p.heads;
  m_T = p.seq_len;
  m_d = p.head_dim;
  m_K = c.K;
  m_s = split.channels;
  m_W0 = c.K / split.downscale;
  m_R = m_W0 * split.channels;
  m_C = m_H * split.channels;
}

int trainable_estimator::position_source(int t, const performer_weights& w) const {
  const int rows = w.position_rows;
  return m_T <= rows ? t : static_cast<int>(static_cast<long long>(t) * rows / m_T);
}

void trainable_estimator::encode(qkv_view in, const performer_weights& w) {
  const int T = m_T, d = m_d;
  const favor::settings fs = performer_settings(m_p.causal);
  activations& a = m_act;
  a.x.resize(sz(m_H) * T * 3 * d);
  a.zpre.resize(sz(m_H) * T * 2 * d);
  a.zln.resize(a.zpre.size());
  a.act.resize(a.zpre.size());
  a.img0.assign(sz(m_C) * T * m_W0, 0.0f);
  std::vector<float> vc(sz(T) * 2 * d), ctx(sz(T) * 2 * d), r(sz(T) * m_R);
  favor::workspace ws(w.projection.m, fs, T, 2 * d);
  for (int t = 0; t < T; ++t) {
    float* row = vc.data() + sz(t) * 2 * d;
    if (m_p.causal) std::copy_n(w.position_table.data() + sz(position_source(t, w)) * d, d, row);
    else tent_basis_row(t, T, d, row);
  }
  for (int h = 0; h < m_H; ++h) {
    const std::size_t head = sz(h) * T * d;
    const float* v = in.v + head;
    for (int t = 0; t < T; ++t) std::copy_n(v + sz(t) * d, d, vc.data() + sz(t) * 2 * d + d);
    favor::head_io io;
    io.q = in.q + head;
    io.k = in.k + head;
    io.ldq = io.ldk = d;
    io.v = vc.data();
    io.ldv = 2 * d;
    io.out = ctx.data();
    io.ldo = 2 * d;
    io.t = T;
    io.dv = 2 * d;
    favor::attend(w.projection, fs, io, ws);
    float* x = a.x.data() + sz(h) * T * 3 * d;
    for (int t = 0; t < T; ++t) {
      std::copy_n(ctx.data() + sz(t) * 2 * d, 2 * d, x + sz(t) * 3 * d);
      std::copy_n(v + sz(t) * d, d, x + sz(t) * 3 * d + 2 * d);
    }
    float* zpre = a.zpre.data() + sz(h) * T * 2 * d;
    float* zln = a.zln.data() + sz(h) * T * 2 * d;
    float* act = a.act.data() + sz(h) * T * 2 * d;
    train::linear_forward(x, T, 3 * d, w.enc_w.data(), w.enc_b.data(), 2 * d, zpre);
    std::copy_n(zpre, sz(T) * 2 * d, zln);
    train::layer_norm_forward(zln, sz(T), 2 * d, w.enc_gamma.data(), w.enc_beta.data());
    std::copy_n(zln, sz(T) * 2 * d, act);
    train::gelu_forward(act, sz(T) * 2 * d);
    train::linear_forward(act, T, 2 * d, w.row_w.data(), w.row_b.data(), m_R, r.data());
    for (int i = 0; i < m_s; ++i) {
      float* plane = a.img0.data() + (sz(h) * m_s + i) * T * m_W0;
      for (int t = 0; t < T; ++t) std::copy_n(r.data() + sz(t) * m_R + sz(i) * m_W0, m_W0, plane + sz(t) * m_W0);
    }
  }
}

void trainable_estimator::run_cnn(const performer_weights& w, float* scores) {
  const int T = m_T, K = m_K;
  activations& a = m_act;
  const bool causal = m_p.causal;
  const auto L1 = conv_of(causal, 1, m_C, m_H, w), L2 = conv_of(causal, 2, m_C, m_H, w),
             L3 = conv_of(causal, 3, m_C, m_H, w);
  const int t1 = cnn::conv_out_rows(L1, T), t2 = cnn::conv_out_rows(L2, t1), t3 = cnn::conv_out_rows(L3, t2);
  const float* conv_in = a.img0.data();
  if (causal) {
    a.img0n = a.img0;
    train::layer_norm_forward(a.img0n.data(), sz(m_C) * T, m_W0, w.norm1_gamma.data(), w.norm1_beta.data());
    conv_in = a.img0n.data();
  }
  a.a1.resize(sz(m_C) * t1 * m_W0);
  a.a2.resize(sz(m_C) * t2 * m_W0);
  a.a3.resize(sz(m_H) * t3 * m_W0);
  train::conv2d_forward(L1, conv_in, T, m_W0, a.a1.data(), true);
  train::conv2d_forward(L2, a.a1.data(), t1, m_W0, a.a2.data(), true);
  train::conv2d_forward(L3, a.a2.data(), t2, m_W0, a.a3.data(), false);
  if (!causal) {
    train::resize_bilinear_forward(a.a3.data(), m_H, t3, m_W0, scores, T, K);
    return;
  }
  // 1×1 conv3 commutes with the nearest ×(1,4) upsampling (as in the inference estimator): upsample the
  // conv3 output, add the width padding (bias-only columns), area-resize K+2 → K, LayerNorm(K).
  a.pre_norm2.resize(sz(m_H) * T * K);
  std::vector<float> wide(sz(K) + 2);
  for (int h = 0; h < m_H; ++h)
    for (int t = 0; t < T; ++t) {
      const float* src = a.a3.data() + (sz(h) * T + t) * m_W0;
      wide[0] = wide[sz(K) + 1] = w.conv3_b[sz(h)];
      for (int x = 0; x < K; ++x) wide[sz(x) + 1] = src[x / 4];
      float* row = scores + (sz(h) * T + t) * K;
      train::area_resize_row_forward(wide.data(), K + 2, row, K);
      std::copy_n(row, K, a.pre_norm2.data() + (sz(h) * T + t) * K);
      train::layer_norm_forward(row, 1, K, w.norm2_gamma.data(), w.norm2_beta.data());
    }
}

void trainable_estimator::forward(qkv_view in, const performer_weights& w, float* scores) {
  encode(in, w);
  run_cnn(w, scores);
}

void trainable_estimator::position_backward(qkv_view in, int h, const performer_weights& w, const float* dctx_pos,
                                            float* dtable) const {
  // Causal ReLU-kernel Performer: ctx_i = Σ_{j≤i} (φq_i·φk_j)·V_j / den_i, den_i = φq_i·Σ_{j≤i} φk_j. Its
  // transpose: ∂V_j = φk_j · Σ_{i≥j} φq_i ⊗ (g_i / den_i), an anti-causal scan with an [m, d] state.
  const int T = m_T, d = m_d, m = w.projection.m;
  const float eps = performer_settings(true).feature_eps();
  const std::size_t head = sz(h) * T * d;
  std::vector<float> fq(sz(T) * m), fk(sz(T) * m);
  favor::relu_features(w.projection, in.q + head, T, d, eps, fq.data());
  favor::relu_features(w.projection, in.k + head, T, d, eps, fk.data());
  std::vector<double> ksum(sz(m), 0.0), den(sz(T));
  for (int t = 0; t < T; ++t) {
    double s = 0;
    for (int f = 0; f < m; ++f) {
      ksum[sz(f)] += fk[sz(t) * m + f];
      s += fq[sz(t) * m + f] * ksum[sz(f)];
    }
    den[sz(t)] = s;
  }
  std::vector<double> state(sz(m) * d, 0.0);
  for (int t = T - 1; t >= 0; --t) {
    const float* g = dctx_pos + sz(t) * d;
    const double inv = den[sz(t)] > 0 ? 1.0 / den[sz(t)] : 0.0;
    for (int f = 0; f < m; ++f) {
      const double a = fq[sz(t) * m + f] * inv;
      double* srow = state.data() + sz(f) * d;
      for (int c = 0; c < d; ++c) srow[c] += a * g[c];
    }
    float* out = dtable + sz(position_source(t, w)) * d;
    for (int c = 0; c < d; ++c) {
      double s = 0;
      for (int f = 0; f < m; ++f) s += fk[sz(t) * m + f] * state[sz(f) * d + c];
      out[c] += static_cast<float>(s);
    }
  }
}

void trainable_estimator::backward(qkv_view in, const performer_weights& w, const float* dscores,
                                   performer_weights& grads) {
  const int T = m_T, K = m_K, d = m_d;
  const bool causal = m_p.causal;
  activations& a = m_act;
  const auto L1 = conv_of(causal, 1, m_C, m_H, w), L2 = conv_of(causal, 2, m_C, m_H, w),
             L3 = conv_of(causal, 3, m_C, m_H, w);
  const int t1 = cnn::conv_out_rows(L1, T), t2 = cnn::conv_out_rows(L2, t1), t3 = cnn::conv_out_rows(L3, t2);

  // CNN decoder, last layer first.
  std::vector<float> da3(a.a3.size(), 0.0f);
  if (causal) {
    std::vector<float> dpre(sz(K)), dwide(sz(K) + 2);
    for (int h = 0; h < m_H; ++h)
      for (int t = 0; t < T; ++t) {
        const std::size_t r = sz(h) * T + t;
        train::layer_norm_backward(a.pre_norm2.data() + r * K, 1, K, w.norm2_gamma.data(), dscores + r * K,
                                   dpre.data(), grads.norm2_gamma.data(), grads.norm2_beta.data());
        std::fill(dwide.begin(), dwide.end(), 0.0f);
        train::area_resize_row_backward(dpre.data(), K + 2, K, dwide.data());
        grads.conv3_b[sz(h)] += dwide[0] + dwide[sz(K) + 1];
        float* dsrc = da3.data() + r * m_W0;
        for (int x = 0; x < K; ++x) dsrc[x / 4] += dwide[sz(x) + 1];
      }
  } else {
    train::resize_bilinear_backward(dscores, m_H, t3, m_W0, T, K, da3.data());
  }
  std::vector<float> da2(a.a2.size()), da1(a.a1.size()), dimg(sz(m_C) * T * m_W0);
  train::conv2d_backward(L3, a.a2.data(), t2, m_W0, da3.data(), da2.data(), grads.conv3_w.data(),
                         grads.conv3_b.data());
  train::relu_backward_inplace(a.a2.data(), da2.data(), da2.size());
  train::conv2d_backward(L2, a.a1.data(), t1, m_W0, da2.data(), da1.data(), grads.conv2_w.data(),
                         grads.conv2_b.data());
  train::relu_backward_inplace(a.a1.data(), da1.data(), da1.size());
  const float* conv_in = causal ? a.img0n.data() : a.img0.data();
  train::conv2d_backward(L1, conv_in, T, m_W0, da1.data(), dimg.data(), grads.conv1_w.data(), grads.conv1_b.data());
  if (causal) {
    std::vector<float> dnorm = dimg;
    train::layer_norm_backward(a.img0.data(), sz(m_C) * T, m_W0, w.norm1_gamma.data(), dnorm.data(), dimg.data(),
                               grads.norm1_gamma.data(), grads.norm1_beta.data());
  }

  // Row decoder, encoder and (causal) the position table, head by head.
  std::vector<float> dr(sz(T) * m_R), dact(sz(T) * 2 * d), dzln(sz(T) * 2 * d), dzpre(sz(T) * 2 * d),
      dx(sz(T) * 3 * d), dctx_pos(causal ? sz(T) * d : 0);
  for (int h = 0; h < m_H; ++h) {
    for (int i = 0; i < m_s; ++i) {
      const float* plane = dimg.data() + (sz(h) * m_s + i) * T * m_W0;
      for (int t = 0; t < T; ++t) std::copy_n(plane + sz(t) * m_W0, m_W0, dr.data() + sz(t) * m_R + sz(i) * m_W0);
    }
    const std::size_t off2 = sz(h) * T * 2 * d;
    train::linear_backward(a.act.data() + off2, T, 2 * d, w.row_w.data(), m_R, dr.data(), dact.data(),
                           grads.row_w.data(), grads.row_b.data());
    train::gelu_backward(a.zln.data() + off2, dact.data(), dzln.data(), sz(T) * 2 * d);
    train::layer_norm_backward(a.zpre.data() + off2, sz(T), 2 * d, w.enc_gamma.data(), dzln.data(), dzpre.data(),
                               grads.enc_gamma.data(), grads.enc_beta.data());
    train::linear_backward(a.x.data() + sz(h) * T * 3 * d, T, 3 * d, w.enc_w.data(), 2 * d, dzpre.data(),
                           causal ? dx.data() : nullptr, grads.enc_w.data(), grads.enc_b.data());
    if (!causal) continue;  // the non-causal position basis is fixed
    for (int t = 0; t < T; ++t) std::copy_n(dx.data() + sz(t) * 3 * d, d, dctx_pos.data() + sz(t) * d);
    position_backward(in, h, w, dctx_pos.data(), grads.position_table.data());
  }
}

}  // namespace sb::sea::distill
