#include "attention_variants/sea/learned_estimator.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attention_variants/sea/cnn_ops.hpp"
#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"

namespace sb::sea {
namespace {

std::size_t sz(long long x) { return static_cast<std::size_t>(x); }
using shape_t = std::vector<std::int64_t>;

/// Sizes of one case's estimator.
struct dims {
  int B, H, T, Te, d, K, m;
  bool causal;
  decoder_split split;
  int W0;       ///< image width K/ds
  int R;        ///< row-decoder outputs (K/ds)·s
  int C;        ///< CNN channels H·s
  int T1;       ///< non-causal: rows after the stride-2 conv
  int kt;       ///< active time taps of conv1/conv2 (3)
};

dims make_dims(const problem& p, const config& c) {
  dims g{};
  g.B = p.batch;
  g.H = p.heads;
  g.T = p.seq_len;
  g.Te = c.estimator_rows(p.seq_len);
  g.d = p.head_dim;
  g.K = c.K;
  g.m = performer_features(p.head_dim, c.nbf);
  g.causal = p.causal;
  g.split = row_decoder_split(p.causal);
  g.W0 = c.K / g.split.downscale;
  g.R = g.W0 * g.split.channels;
  g.C = g.H * g.split.channels;
  g.T1 = (g.Te - 1) / 2 + 1;
  g.kt = 3;
  return g;
}

cnn::conv_layer conv_layer_of(const dims& g, int index, const performer_weights& w) {
  cnn::conv_layer L;
  if (!g.causal) {
    L.g = {.cin = g.C, .cout = index == 3 ? g.H : g.C, .kt = 3, .kw = 3, .stride_t = index == 1 ? 2 : 1, .dil_t = 1,
           .dil_w = 1, .pad_t = 1, .pad_w = 1, .up_t = index == 3 ? 2 : 1};
  } else if (index < 3) {
    L.g = {.cin = g.C, .cout = g.C, .kt = 3, .kw = 3, .stride_t = 1, .dil_t = 2, .dil_w = 2, .pad_t = 4, .pad_w = 2,
           .up_t = 1};
    L.causal = true;
  } else {  // 1×1; the width padding is applied after the fused ×4 upsampling (see run_cnn_causal)
    L.g = {.cin = g.C, .cout = g.H, .kt = 1, .kw = 1, .stride_t = 1, .dil_t = 1, .dil_w = 1, .pad_t = 0, .pad_w = 0,
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

/// Scratch floats of each phase of one sample (see performer_estimator::estimate).
struct scratch_plan {
  std::size_t img0, a1, a2, a3, vc, ctx, x, z, r, col1, col2, col3, rowbuf;
  std::size_t favor_bytes;
  [[nodiscard]] std::size_t peak_bytes() const {
    const std::size_t f = sizeof(float);
    const std::size_t performer = (img0 + vc + ctx + x + z + r) * f + favor_bytes;
    const std::size_t c1 = (img0 + a1 + col1) * f;
    const std::size_t c2 = (a1 + a2 + col2) * f;
    const std::size_t c3 = (a2 + a3 + col3) * f;
    const std::size_t c4 = (a3 + rowbuf) * f;
    return std::max({performer, c1, c2, c3, c4});
  }
};

scratch_plan make_plan(const dims& g, const performer_weights& w) {
  scratch_plan s{};
  s.img0 = sz(g.C) * g.Te * g.W0;
  s.vc = s.ctx = sz(g.T) * 2 * g.d;
  s.x = sz(g.Te) * 3 * g.d;
  s.z = sz(g.Te) * 2 * g.d;
  s.r = sz(g.Te) * g.R;
  s.favor_bytes = favor::workspace::bytes(g.m, performer_settings(g.causal), g.T, 2 * g.d);
  const auto L1 = conv_layer_of(g, 1, w), L2 = conv_layer_of(g, 2, w), L3 = conv_layer_of(g, 3, w);
  const int t1 = cnn::conv_out_rows(L1, g.Te);
  const int t2 = cnn::conv_out_rows(L2, t1);
  const int t3 = cnn::conv_out_rows(L3, t2);
  s.a1 = sz(g.C) * t1 * g.W0;
  s.a2 = sz(g.C) * t2 * g.W0;
  s.a3 = sz(g.H) * t3 * g.W0;
  s.col1 = cnn::conv_scratch_floats(L1, t1, g.W0);
  s.col2 = cnn::conv_scratch_floats(L2, t2, g.W0);
  s.col3 = cnn::conv_scratch_floats(L3, t3, g.W0);
  s.rowbuf = g.causal ? sz(g.K) + 2 : 0;
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Weights: names, shapes, loading, random initialisation
// ---------------------------------------------------------------------------------------------------

shape_t conv_shape(const dims& g, int index, int time_taps) {
  if (!g.causal) return {index == 3 ? g.H : g.C, g.C, 3, 3};
  if (index < 3) return {g.C, g.C, time_taps, 3};
  return {g.H, g.C, 1, 1};
}

std::vector<float> take(const safetensors_file& f, const std::string& name, const shape_t& shape) {
  return f.get(name, shape).data;
}

/// Causal conv1/conv2: the 5-tap official layout or the 3 active taps, repacked to [co, ci, 3, 3].
std::vector<float> take_causal_conv(const safetensors_file& f, const std::string& name, const dims& g) {
  const host_tensor& t = f.get(name);
  if (t.shape == conv_shape(g, 1, 3)) return t.data;
  if (t.shape != conv_shape(g, 1, 5))
    throw data_error(fmt::format("weights file '{}': tensor '{}' has shape {}, expected {} or {}", f.path(), name,
                                 shape_string(t.shape), shape_string(conv_shape(g, 1, 5)),
                                 shape_string(conv_shape(g, 1, 3))));
  std::vector<float> out(sz(g.C) * g.C * 9);
  for (std::size_t oc = 0; oc < sz(g.C) * g.C; ++oc)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) out[oc * 9 + sz(i) * 3 + j] = t.data[oc * 15 + sz(i) * 3 + j];
  return out;
}

void check_dims(const problem& p, const config& c) {
  const decoder_split s = row_decoder_split(p.causal);
  if (c.K % s.downscale != 0)
    throw unsupported_case(fmt::format("sea estimator=performer needs K divisible by {} ({}), got K={}",
                                       s.downscale, p.causal ? "causal" : "non-causal", c.K));
}

}  // namespace

decoder_split row_decoder_split(bool causal) { return causal ? decoder_split{2, 4} : decoder_split{4, 2}; }

std::vector<weight_spec> performer_weight_specs(const problem& p, const config& c) {
  const dims g = make_dims(p, c);
  const std::int64_t d = g.d;
  std::vector<weight_spec> s;
  s.push_back({"performer.projection", {g.m, d}});
  if (g.causal) s.push_back({"position_table", {-1, d}});
  s.push_back({"encoder.weight", {2 * d, 3 * d}});
  s.push_back({"encoder.bias", {2 * d}});
  s.push_back({"encoder.norm.weight", {2 * d}});
  s.push_back({"encoder.norm.bias", {2 * d}});
  s.push_back({"row_decoder.weight", {g.R, 2 * d}});
  s.push_back({"row_decoder.bias", {g.R}});
  s.push_back({"gates.weight", {2, 2 * d}});
  s.push_back({"gates.bias", {2}});
  if (g.causal) {
    s.push_back({"cnn.norm1.weight", {g.W0}});
    s.push_back({"cnn.norm1.bias", {g.W0}});
  }
  for (int i = 1; i <= 3; ++i) {
    s.push_back({fmt::format("cnn.conv{}.weight", i), conv_shape(g, i, 3)});
    s.push_back({fmt::format("cnn.conv{}.bias", i), {conv_shape(g, i, 3)[0]}});
  }
  if (g.causal) {
    s.push_back({"cnn.norm2.weight", {g.K}});
    s.push_back({"cnn.norm2.bias", {g.K}});
  }
  return s;
}

performer_weights load_performer_weights(const std::string& path, const problem& p, const config& c) {
  check_dims(p, c);
  const dims g = make_dims(p, c);
  const safetensors_file f = safetensors_file::load(path);
  // Distilled without the output loss, the gates never got a gradient (docs/distill.md): refuse to mix with them.
  if (const auto gates = f.metadata().find("sea.gates");
      gates != f.metadata().end() && gates->second == "off" && c.output == output_mode::mix)
    throw unsupported_case(fmt::format(
        "weights file '{}' has untrained gates (metadata sea.gates = \"off\": distilled with the attention losses "
        "only); output = mix needs trained gates, use output = sparse",
        path));
  performer_weights w;
  w.trained = true;
  w.projection.m = g.m;
  w.projection.d = g.d;
  w.projection.w = take(f, "performer.projection", {g.m, g.d});
  if (g.causal) {
    const host_tensor& t = f.get("position_table");
    if (t.shape.size() != 2 || t.shape[1] != g.d || t.shape[0] < 1)
      throw data_error(fmt::format("weights file '{}': tensor 'position_table' has shape {}, expected [rows, {}]",
                                   path, shape_string(t.shape), g.d));
    w.position_rows = static_cast<int>(t.shape[0]);
    w.position_table = t.data;
  }
  const std::int64_t d = g.d;
  w.enc_w = take(f, "encoder.weight", {2 * d, 3 * d});
  w.enc_b = take(f, "encoder.bias", {2 * d});
  w.enc_gamma = take(f, "encoder.norm.weight", {2 * d});
  w.enc_beta = take(f, "encoder.norm.bias", {2 * d});
  w.row_w = take(f, "row_decoder.weight", {g.R, 2 * d});
  w.row_b = take(f, "row_decoder.bias", {g.R});
  w.gate_w = take(f, "gates.weight", {2, 2 * d});
  w.gate_b = take(f, "gates.bias", {2});
  if (g.causal) {
    w.norm1_gamma = take(f, "cnn.norm1.weight", {g.W0});
    w.norm1_beta = take(f, "cnn.norm1.bias", {g.W0});
    w.conv1_w = take_causal_conv(f, "cnn.conv1.weight", g);
    w.conv2_w = take_causal_conv(f, "cnn.conv2.weight", g);
    w.norm2_gamma = take(f, "cnn.norm2.weight", {g.K});
    w.norm2_beta = take(f, "cnn.norm2.bias", {g.K});
  } else {
    w.conv1_w = take(f, "cnn.conv1.weight", conv_shape(g, 1, 3));
    w.conv2_w = take(f, "cnn.conv2.weight", conv_shape(g, 2, 3));
  }
  w.conv3_w = take(f, "cnn.conv3.weight", conv_shape(g, 3, 3));
  w.conv1_b = take(f, "cnn.conv1.bias", {conv_shape(g, 1, 3)[0]});
  w.conv2_b = take(f, "cnn.conv2.bias", {conv_shape(g, 2, 3)[0]});
  w.conv3_b = take(f, "cnn.conv3.bias", {conv_shape(g, 3, 3)[0]});
  return w;
}

performer_weights random_performer_weights(const problem& p, const config& c) {
  check_dims(p, c);
  const dims g = make_dims(p, c);
  counter_rng rng(p.seed, rng_stream::weights);
  auto uniform = [&](std::size_t n, double fan_in) {
    const double bound = 1.0 / std::sqrt(fan_in);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    return v;
  };
  auto constant = [](std::size_t n, float value) { return std::vector<float>(n, value); };
  performer_weights w;
  w.trained = false;
  w.projection = favor::draw_projection(p.seed, g.m, g.d);
  const std::size_t d = g.d;
  if (g.causal) {
    w.position_rows = default_position_rows;
    w.position_table.resize(sz(default_position_rows) * d);
    for (auto& x : w.position_table) x = static_cast<float>(rng.normal());
  }
  w.enc_w = uniform(2 * d * 3 * d, 3.0 * d);
  w.enc_b = uniform(2 * d, 3.0 * d);
  w.enc_gamma = constant(2 * d, 1.0f);
  w.enc_beta = constant(2 * d, 0.0f);
  w.row_w = uniform(sz(g.R) * 2 * d, 2.0 * d);
  w.row_b = uniform(sz(g.R), 2.0 * d);
  w.gate_w = uniform(2 * 2 * d, 2.0 * d);
  w.gate_b = uniform(2, 2.0 * d);
  auto conv = [&](int index, std::vector<float>& wt, std::vector<float>& bias) {
    const shape_t s = conv_shape(g, index, 3);
    const double fan_in = static_cast<double>(s[1] * s[2] * s[3]);
    wt = uniform(sz(s[0] * s[1] * s[2] * s[3]), fan_in);
    bias = uniform(sz(s[0]), fan_in);
  };
  conv(1, w.conv1_w, w.conv1_b);
  conv(2, w.conv2_w, w.conv2_b);
  conv(3, w.conv3_w, w.conv3_b);
  if (g.causal) {
    w.norm1_gamma = constant(sz(g.W0), 1.0f);
    w.norm1_beta = constant(sz(g.W0), 0.0f);
    w.norm2_gamma = constant(sz(g.K), 1.0f);
    w.norm2_beta = constant(sz(g.K), 0.0f);
  }
  return w;
}

std::map<std::string, host_tensor> performer_weight_tensors(const performer_weights& w, const problem& p,
                                                           const config& c) {
  const dims g = make_dims(p, c);
  std::map<std::string, const std::vector<float>*> data = {
      {"performer.projection", &w.projection.w}, {"position_table", &w.position_table},
      {"encoder.weight", &w.enc_w},              {"encoder.bias", &w.enc_b},
      {"encoder.norm.weight", &w.enc_gamma},     {"encoder.norm.bias", &w.enc_beta},
      {"row_decoder.weight", &w.row_w},          {"row_decoder.bias", &w.row_b},
      {"gates.weight", &w.gate_w},               {"gates.bias", &w.gate_b},
      {"cnn.conv1.weight", &w.conv1_w},          {"cnn.conv1.bias", &w.conv1_b},
      {"cnn.conv2.weight", &w.conv2_w},          {"cnn.conv2.bias", &w.conv2_b},
      {"cnn.conv3.weight", &w.conv3_w},          {"cnn.conv3.bias", &w.conv3_b},
      {"cnn.norm1.weight", &w.norm1_gamma},      {"cnn.norm1.bias", &w.norm1_beta},
      {"cnn.norm2.weight", &w.norm2_gamma},      {"cnn.norm2.bias", &w.norm2_beta}};
  std::map<std::string, host_tensor> out;
  for (const weight_spec& s : performer_weight_specs(p, c)) {
    host_tensor t;
    t.shape = s.shape;
    if (s.name == "position_table") t.shape[0] = w.position_rows;
    t.data = *data.at(s.name);
    out.emplace(s.name, std::move(t));
  }
  (void)g;
  return out;
}

void tent_basis_row(int t, int seq_len, int cols, float* row) {
  std::fill_n(row, cols, 0.0f);
  const double r = seq_len > 1 ? static_cast<double>(t) * (cols - 1) / (seq_len - 1) : 0.0;
  const int lo = std::min(static_cast<int>(std::floor(r)), cols - 1);
  const double frac = r - lo;
  row[lo] += static_cast<float>(1.0 - frac);
  if (lo + 1 < cols) row[lo + 1] += static_cast<float>(frac);
}

namespace {

class performer_estimator final : public estimator {
 public:
  performer_estimator(const problem& p, const config& c, performer_weights w)
      : m_p(p), m_c(c), m_g(make_dims(p, c)), m_w(std::move(w)) {}

  [[nodiscard]] bool trained() const override { return m_w.trained; }
  [[nodiscard]] bool has_gates() const override { return true; }

  void estimate(qkv_view in, float* ahat, float* gates) override {
    const dims& g = m_g;
    for (int b = 0; b < g.B; ++b) {
      tracked_buffer<float> img0(sz(g.C) * g.Te * g.W0);
      encode_sample(in, b, img0.data(), gates);
      float* out = ahat + sz(b) * g.H * g.Te * g.K;
      if (g.causal) run_cnn_causal(std::move(img0), out);
      else run_cnn_full(std::move(img0), out);
      for (std::size_t r = 0; r < sz(g.H) * g.Te; ++r) softmax_row(out + r * g.K, g.K);
    }
  }

 private:
  // Performer over [position basis | v], encoder, gates and row decoder for every head of sample b;
  // the row decoder's outputs land in the CNN image [H·s, Te, K/ds] (channel h·s + i takes outputs
  // i·(K/ds) .. (i+1)·(K/ds) − 1, the official ChannelSplit order).
  void encode_sample(qkv_view in, int b, float* img0, float* gates) {
    const dims& g = m_g;
    const int d = g.d, s = m_c.query_skip;
    const favor::settings fs = performer_settings(g.causal);
    tracked_buffer<float> vc(sz(g.T) * 2 * d), ctx(sz(g.T) * 2 * d);
    tracked_buffer<float> x(sz(g.Te) * 3 * d), z(sz(g.Te) * 2 * d), r(sz(g.Te) * g.R);
    favor::workspace ws(g.m, fs, g.T, 2 * d);
    for (int t = 0; t < g.T; ++t) position_row(t, vc.data() + sz(t) * 2 * d);
    for (int h = 0; h < g.H; ++h) {
      const std::size_t head = (sz(b) * g.H + h) * g.T * d;
      const float* v = in.v + head;
      for (int t = 0; t < g.T; ++t) std::copy_n(v + sz(t) * d, d, vc.data() + sz(t) * 2 * d + d);
      favor::head_io io;
      io.q = in.q + head;
      io.k = in.k + head;
      io.ldq = io.ldk = d;
      io.v = vc.data();
      io.ldv = 2 * d;
      io.out = ctx.data();
      io.ldo = 2 * d;
      io.t = g.T;
      io.dv = 2 * d;
      favor::attend(m_w.projection, fs, io, ws);
      for (int e = 0; e < g.Te; ++e) {
        const int t = e * s;
        std::copy_n(ctx.data() + sz(t) * 2 * d, 2 * d, x.data() + sz(e) * 3 * d);
        std::copy_n(v + sz(t) * d, d, x.data() + sz(e) * 3 * d + 2 * d);
      }
      linear(x.data(), g.Te, 3 * d, m_w.enc_w, m_w.enc_b, 2 * d, z.data());
      for (int e = 0; e < g.Te; ++e) {
        float* row = z.data() + sz(e) * 2 * d;
        cnn::layer_norm(row, 2 * d, m_w.enc_gamma.data(), m_w.enc_beta.data());
        for (int c = 0; c < 2 * d; ++c) row[c] = cnn::gelu(row[c]);
      }
      if (gates) linear(z.data(), g.Te, 2 * d, m_w.gate_w, m_w.gate_b, 2, gates + (sz(b) * g.H + h) * g.Te * 2);
      linear(z.data(), g.Te, 2 * d, m_w.row_w, m_w.row_b, g.R, r.data());
      for (int i = 0; i < g.split.channels; ++i) {
        float* plane = img0 + (sz(h) * g.split.channels + i) * g.Te * g.W0;
        for (int e = 0; e < g.Te; ++e) std::copy_n(r.data() + sz(e) * g.R + sz(i) * g.W0, g.W0, plane + sz(e) * g.W0);
      }
    }
  }

  /// Position half of V_concat for row t: the tent basis (non-causal) or the learned table, nearest-
  /// resampled when T exceeds its rows (causal).
  void position_row(int t, float* row) const {
    const int d = m_g.d;
    if (!m_g.causal) {
      tent_basis_row(t, m_g.T, d, row);
      return;
    }
    const int rows = m_w.position_rows;
    const int src = m_g.T <= rows ? t : static_cast<int>(static_cast<long long>(t) * rows / m_g.T);
    std::copy_n(m_w.position_table.data() + sz(src) * d, d, row);
  }

  /// y[n, out] = x[n, in]·Wᵀ + b.
  static void linear(const float* x, int n, int in, const std::vector<float>& w, const std::vector<float>& bias,
                     int out, float* y) {
    for (int r = 0; r < n; ++r) std::copy_n(bias.data(), out, y + sz(r) * out);
    blas::sgemm(false, true, n, out, in, 1.0f, x, in, w.data(), in, 1.0f, y, out);
  }

  static void conv(const cnn::conv_layer& L, const float* in, int t_in, int w_in, float* out, bool relu) {
    const int t_out = cnn::conv_out_rows(L, t_in);
    tracked_buffer<float> col(cnn::conv_scratch_floats(L, t_out, L.g.out_cols(w_in)));
    cnn::conv2d(L, in, t_in, w_in, out, relu, col.data());
  }

  void run_cnn_full(tracked_buffer<float> img0, float* out) {
    const dims& g = m_g;
    const auto L1 = conv_layer_of(g, 1, m_w), L2 = conv_layer_of(g, 2, m_w), L3 = conv_layer_of(g, 3, m_w);
    const int t1 = cnn::conv_out_rows(L1, g.Te), t2 = cnn::conv_out_rows(L2, t1), t3 = cnn::conv_out_rows(L3, t2);
    tracked_buffer<float> a1(sz(g.C) * t1 * g.W0);
    conv(L1, img0.data(), g.Te, g.W0, a1.data(), true);
    img0.reset();
    tracked_buffer<float> a2(sz(g.C) * t2 * g.W0);
    conv(L2, a1.data(), t1, g.W0, a2.data(), true);
    a1.reset();
    tracked_buffer<float> a3(sz(g.H) * t3 * g.W0);  // conv3 reads a2 through the nearest ×(2,1) upsampling
    conv(L3, a2.data(), t2, g.W0, a3.data(), false);
    a2.reset();
    cnn::resize_bilinear(a3.data(), g.H, t3, g.W0, out, g.Te, g.K, sz(g.Te) * g.K, g.K);
  }

  void run_cnn_causal(tracked_buffer<float> img0, float* out) {
    const dims& g = m_g;
    for (std::size_t r = 0; r < sz(g.C) * g.Te; ++r)
      cnn::layer_norm(img0.data() + r * g.W0, g.W0, m_w.norm1_gamma.data(), m_w.norm1_beta.data());
    const auto L1 = conv_layer_of(g, 1, m_w), L2 = conv_layer_of(g, 2, m_w), L3 = conv_layer_of(g, 3, m_w);
    tracked_buffer<float> a1(sz(g.C) * g.Te * g.W0);
    conv(L1, img0.data(), g.Te, g.W0, a1.data(), true);
    img0.reset();
    tracked_buffer<float> a2(sz(g.C) * g.Te * g.W0);
    conv(L2, a1.data(), g.Te, g.W0, a2.data(), true);
    a1.reset();
    // conv3 is 1×1, so it commutes with the nearest ×(1,4) upsampling: apply it at width K/4, then
    // upsample, add its width padding (columns that hold only the bias) and area-resize K+2 → K.
    tracked_buffer<float> a3(sz(g.H) * g.Te * g.W0);
    conv(L3, a2.data(), g.Te, g.W0, a3.data(), false);
    a2.reset();
    tracked_buffer<float> wide(sz(g.K) + 2);
    for (int h = 0; h < g.H; ++h)
      for (int e = 0; e < g.Te; ++e) {
        const float* src = a3.data() + (sz(h) * g.Te + e) * g.W0;
        wide[0] = wide[sz(g.K) + 1] = m_w.conv3_b[sz(h)];
        for (int w = 0; w < g.K; ++w) wide[sz(w) + 1] = src[w / 4];
        float* row = out + (sz(h) * g.Te + e) * g.K;
        cnn::area_resize_row(wide.data(), g.K + 2, row, g.K);
        cnn::layer_norm(row, g.K, m_w.norm2_gamma.data(), m_w.norm2_beta.data());
      }
  }

  problem m_p;
  config m_c;
  dims m_g;
  performer_weights m_w;
};

}  // namespace

std::unique_ptr<estimator> make_performer_estimator(const problem& p, const config& c) {
  performer_weights w = c.weights.empty() ? random_performer_weights(p, c) : load_performer_weights(c.weights, p, c);
  return std::make_unique<performer_estimator>(p, c, std::move(w));
}

std::size_t performer_estimator_scratch_bytes(const problem& p, const config& c) {
  const decoder_split s = row_decoder_split(p.causal);
  if (c.K % s.downscale != 0) return 0;
  const dims g = make_dims(p, c);
  performer_weights shapes_only;  // conv_layer_of only reads pointers; sizes come from dims
  return make_plan(g, shapes_only).peak_bytes();
}

double performer_estimator_flops(const problem& p, const config& c) {
  const decoder_split s = row_decoder_split(p.causal);
  if (c.K % s.downscale != 0) return 0;
  const dims g = make_dims(p, c);
  const double te = g.Te, d = g.d;
  double per_head = favor::attend_flops(g.m, g.d, performer_settings(g.causal), g.T, 2 * g.d);
  per_head += te * (2 * 3 * d * 2 * d + 10 * 2 * d + 2 * 2 * d * 2 + 2 * 2 * d * g.R);
  performer_weights shapes_only;
  double cnn = 0;
  int t_in = g.Te;
  for (int i = 1; i <= 3; ++i) {
    const auto L = conv_layer_of(g, i, shapes_only);
    const int t_out = cnn::conv_out_rows(L, t_in);
    cnn += 2.0 * L.g.cout * L.g.cin * L.g.kt * L.g.kw * t_out * L.g.out_cols(g.W0);
    t_in = t_out;
  }
  cnn += 10.0 * g.H * te * g.K;  // resize, LayerNorms, softmax
  return g.B * (g.H * per_head + cnn);
}

}  // namespace sb::sea
