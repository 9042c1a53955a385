#include "harness/model/opt_forward.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "harness/core/blas.hpp"
#include "harness/core/errors.hpp"
#include "harness/core/memory_tracker.hpp"
#include "harness/core/rng.hpp"
#include "harness/model/opt_model.hpp"

namespace sb::model {
namespace {

/// nn.LayerNorm's default epsilon, which OPT uses.
constexpr float layer_norm_eps = 1e-5f;
/// Query rows per block in exact attention and logit rows per block in the loss.
constexpr int row_block = 256;

void layer_norm(int rows, int cols, const float* x, const std::vector<float>& w, const std::vector<float>& b,
                float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * cols;
    float* o = out + static_cast<std::size_t>(r) * cols;
    double mean = 0;
    for (int c = 0; c < cols; ++c) mean += xr[c];
    mean /= cols;
    double var = 0;
    for (int c = 0; c < cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= cols;
    const float inv = static_cast<float>(1.0 / std::sqrt(var + layer_norm_eps));
    const float m = static_cast<float>(mean);
    for (int c = 0; c < cols; ++c) o[c] = (xr[c] - m) * inv * w[c] + b[c];
  }
}

/// out[rows, n] = x[rows, k] · Wᵀ + bias, with W [n, k] (nn.Linear layout); beta = 1 accumulates.
void linear(int rows, int n, int k, const float* x, const std::vector<float>& w, const std::vector<float>& bias,
            float* out, bool accumulate = false) {
  blas::sgemm(false, true, rows, n, k, 1.0f, x, k, w.data(), k, accumulate ? 1.0f : 0.0f, out, n);
  for (int r = 0; r < rows; ++r) {
    float* o = out + static_cast<std::size_t>(r) * n;
    for (int c = 0; c < n; ++c) o[c] += bias[c];
  }
}

/// [T, H·D] → [H, T, D]
void split_heads(int T, int H, int D, const float* x, float* out) {
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < H; ++h)
      std::copy_n(x + (static_cast<std::size_t>(t) * H + h) * D, D, out + (static_cast<std::size_t>(h) * T + t) * D);
}

/// [H, T, D] → [T, H·D]
void merge_heads(int T, int H, int D, const float* x, float* out) {
  for (int h = 0; h < H; ++h)
    for (int t = 0; t < T; ++t)
      std::copy_n(x + (static_cast<std::size_t>(h) * T + t) * D, D, out + (static_cast<std::size_t>(t) * H + h) * D);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

void exact_causal_attention(int heads, int seq_len, int head_dim, const float* q, const float* k, const float* v,
                            float* out) {
  const int T = seq_len, D = head_dim;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  tracked_buffer<float> scores(static_cast<std::size_t>(std::min(row_block, T)) * T);
  for (int h = 0; h < heads; ++h) {
    const std::size_t off = static_cast<std::size_t>(h) * T * D;
    for (int r0 = 0; r0 < T; r0 += row_block) {
      const int rows = std::min(row_block, T - r0);
      const int keys = r0 + rows;  // causal: rows r0..r0+rows-1 see keys 0..r0+rows-1
      float* s = scores.data();
      blas::sgemm(false, true, rows, keys, D, scale, q + off + static_cast<std::size_t>(r0) * D, D, k + off, D, 0.0f,
                  s, keys);
      for (int i = 0; i < rows; ++i) {
        float* row = s + static_cast<std::size_t>(i) * keys;
        const int visible = r0 + i + 1;
        float mx = -std::numeric_limits<float>::infinity();
        for (int j = 0; j < visible; ++j) mx = std::max(mx, row[j]);
        double sum = 0;
        for (int j = 0; j < visible; ++j) {
          row[j] = std::exp(row[j] - mx);
          sum += row[j];
        }
        const float inv = static_cast<float>(1.0 / sum);
        for (int j = 0; j < visible; ++j) row[j] *= inv;
        std::fill(row + visible, row + keys, 0.0f);
      }
      blas::sgemm(false, false, rows, D, keys, 1.0f, s, keys, v + off, D, 0.0f,
                  out + off + static_cast<std::size_t>(r0) * D, D);
    }
  }
}

std::uint64_t layer_seed(std::uint64_t case_seed, int layer) {
  const philox_block b = philox4x32({static_cast<std::uint32_t>(layer), 0x6d6f64u /* "mod" */, 0, 0},
                                    {static_cast<std::uint32_t>(case_seed), static_cast<std::uint32_t>(case_seed >> 32)});
  return (static_cast<std::uint64_t>(b[0]) << 32) | b[1];
}

param_set params_for_layer(const param_set& params, int layer) {
  param_set out = params;
  for (const auto& [name, value] : params.values())
    if (const auto* text = std::get_if<std::string>(&value))
      out.set(name, replace_all(*text, "{layer}", std::to_string(layer)));
  return out;
}

problem layer_problem(const opt_config& c, int seq_len, std::optional<int> k, std::uint64_t seed) {
  problem p;
  p.batch = 1;
  p.heads = c.num_heads;
  p.seq_len = seq_len;
  p.head_dim = c.head_dim();
  p.causal = true;
  p.type = dtype::fp32;
  p.k = k;
  p.seed = seed;
  return p;
}

void run_variant_call(attention_instance& inst, bool list_support, qkv_view in, float* out, call_extras& into) {
  attention_support support;
  run_context ctx;
  if (list_support) ctx.support = &support;
  inst.run(in, out, ctx);
  if (list_support && support.rows() > 0)
    ctx.extras["keys_per_query"] = static_cast<double>(support.cols.size()) / static_cast<double>(support.rows());
  for (const auto& [name, value] : ctx.extras) into[name].push_back(value);
}

struct opt_forward::buffers {
  tracked_buffer<float> x, h, q, k, v, qh, kh, vh, oh, ffn;
  buffers(int T, int C, int F)
      : x(std::size_t(T) * C), h(std::size_t(T) * C), q(std::size_t(T) * C), k(std::size_t(T) * C),
        v(std::size_t(T) * C), qh(std::size_t(T) * C), kh(std::size_t(T) * C), vh(std::size_t(T) * C),
        oh(std::size_t(T) * C), ffn(std::size_t(T) * F) {}
};

void prepare_plan(const opt_model& m, int seq_len, attention_plan& plan) {
  const opt_config& c = m.config;
  if (seq_len < 2) throw config_error(fmt::format("window length {} is too short (at least 2 tokens)", seq_len));
  if (seq_len > c.max_positions)
    throw data_error(fmt::format("window length {} exceeds the {} positions of '{}' (max_position_embeddings)", seq_len,
                                 c.max_positions, m.name));
  for (int l : plan.layers)
    if (l < 0 || l >= c.num_layers)
      throw config_error(fmt::format("layer {} does not exist: '{}' has layers 0 .. {}", l, m.name, c.num_layers - 1));
  if (plan.variant)
    plan.params = plan.variant->parameters().resolve(std::string(plan.variant->name()), plan.params.values());
}

bool plan_uses_variant(const attention_plan& plan, int layer) {
  if (!plan.variant) return false;
  return plan.layers.empty() || std::find(plan.layers.begin(), plan.layers.end(), layer) != plan.layers.end();
}

std::vector<std::unique_ptr<attention_instance>> instantiate_layers(const opt_model& m, int seq_len,
                                                                    const attention_plan& plan, device_kind device) {
  const opt_config& c = m.config;
  std::vector<std::unique_ptr<attention_instance>> instances(static_cast<std::size_t>(c.num_layers));
  for (int l = 0; l < c.num_layers; ++l) {
    if (!plan_uses_variant(plan, l)) continue;
    const problem p = layer_problem(c, seq_len, plan.k, layer_seed(plan.seed, l));
    const param_set params = params_for_layer(plan.params, l);
    if (auto why = unsupported_reason(*plan.variant, p, params, device))
      throw unsupported_case(fmt::format("layer {}: {}", l, *why));
    instances[static_cast<std::size_t>(l)] = plan.variant->instantiate(p, params, device);
  }
  return instances;
}

opt_forward::opt_forward(const opt_model& m, int seq_len, attention_plan plan)
    : m_model(m), m_seq_len(seq_len), m_plan(std::move(plan)) {
  prepare_plan(m, seq_len, m_plan);
  m_instances = instantiate_layers(m, seq_len, m_plan, device_kind::cpu);
}

opt_forward::~opt_forward() = default;

bool opt_forward::uses_variant(int layer) const { return plan_uses_variant(m_plan, layer); }

void opt_forward::check_window(std::span<const std::int32_t> window) const {
  if (static_cast<int>(window.size()) != m_seq_len)
    throw data_error(fmt::format("window of {} tokens given to a forward pass set up for {}", window.size(), m_seq_len));
  validate_token_ids(m_model, window);
}

bool opt_forward::hidden_states(std::span<const std::int32_t> window, buffers& b) {
  check_window(window);
  const opt_config& c = m_model.config;
  const int T = m_seq_len, C = c.hidden_size, H = c.num_heads, D = c.head_dim(), F = c.ffn_dim;
  for (int t = 0; t < T; ++t) {
    const float* tok = m_model.embed_tokens.data() + static_cast<std::size_t>(window[t]) * C;
    const float* pos = m_model.embed_positions.data() + static_cast<std::size_t>(t + position_offset) * C;
    float* x = b.x.data() + static_cast<std::size_t>(t) * C;
    for (int i = 0; i < C; ++i) x[i] = tok[i] + pos[i];
  }
  for (int l = 0; l < c.num_layers; ++l) {
    const opt_layer& L = m_model.layers[static_cast<std::size_t>(l)];
    layer_norm(T, C, b.x.data(), L.attn_ln_weight, L.attn_ln_bias, b.h.data());
    // Queries stay unscaled: the attention (exact below, or the variant) applies 1/sqrt(D) once.
    linear(T, C, C, b.h.data(), L.q_weight, L.q_bias, b.q.data());
    linear(T, C, C, b.h.data(), L.k_weight, L.k_bias, b.k.data());
    linear(T, C, C, b.h.data(), L.v_weight, L.v_bias, b.v.data());
    split_heads(T, H, D, b.q.data(), b.qh.data());
    split_heads(T, H, D, b.k.data(), b.kh.data());
    split_heads(T, H, D, b.v.data(), b.vh.data());
    if (on_attention_inputs) on_attention_inputs(l, b.qh.data(), b.kh.data(), b.vh.data());
    if (l == last_layer) return false;
    if (auto& inst = m_instances[static_cast<std::size_t>(l)]) {
      run_variant_call(*inst, list_support && m_plan.variant->caps().exposes_support, qkv_view{b.qh.data(), b.kh.data(), b.vh.data()},
                       b.oh.data(), attention_extras);
    } else {
      exact_causal_attention(H, T, D, b.qh.data(), b.kh.data(), b.vh.data(), b.oh.data());
    }
    merge_heads(T, H, D, b.oh.data(), b.q.data());
    linear(T, C, C, b.q.data(), L.out_weight, L.out_bias, b.x.data(), /*accumulate=*/true);  // residual
    layer_norm(T, C, b.x.data(), L.ffn_ln_weight, L.ffn_ln_bias, b.h.data());
    linear(T, F, C, b.h.data(), L.fc1_weight, L.fc1_bias, b.ffn.data());
    for (std::size_t i = 0; i < b.ffn.size(); ++i) b.ffn[i] = std::max(b.ffn[i], 0.0f);
    linear(T, C, F, b.ffn.data(), L.fc2_weight, L.fc2_bias, b.x.data(), /*accumulate=*/true);  // residual
  }
  layer_norm(T, C, b.x.data(), m_model.final_ln_weight, m_model.final_ln_bias, b.h.data());
  return true;
}

std::vector<float> opt_forward::logits(std::span<const std::int32_t> window) {
  const opt_config& c = m_model.config;
  buffers b(m_seq_len, c.hidden_size, c.ffn_dim);
  if (!hidden_states(window, b)) return {};
  std::vector<float> out(static_cast<std::size_t>(m_seq_len) * c.vocab_size);
  blas::sgemm(false, true, m_seq_len, c.vocab_size, c.hidden_size, 1.0f, b.h.data(), c.hidden_size,
              m_model.output_head().data(), c.hidden_size, 0.0f, out.data(), c.vocab_size);
  return out;
}

double opt_forward::window_nll(std::span<const std::int32_t> window) {
  const opt_config& c = m_model.config;
  const int V = c.vocab_size, C = c.hidden_size;
  buffers b(m_seq_len, C, c.ffn_dim);
  if (!hidden_states(window, b)) return 0;
  tracked_buffer<float> block(static_cast<std::size_t>(row_block) * V);
  double nll = 0;
  const int predictions = m_seq_len - 1;  // position t predicts token t + 1
  for (int r0 = 0; r0 < predictions; r0 += row_block) {
    const int rows = std::min(row_block, predictions - r0);
    blas::sgemm(false, true, rows, V, C, 1.0f, b.h.data() + static_cast<std::size_t>(r0) * C, C,
                m_model.output_head().data(), C, 0.0f, block.data(), V);
    for (int i = 0; i < rows; ++i) {
      const float* row = block.data() + static_cast<std::size_t>(i) * V;
      const float mx = *std::max_element(row, row + V);
      double sum = 0;
      for (int j = 0; j < V; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
      nll += std::log(sum) + mx - row[window[static_cast<std::size_t>(r0 + i + 1)]];
    }
  }
  return nll;
}

std::vector<layer_qkv> capture_qkv(const opt_model& m, std::span<const std::int32_t> window,
                                   const std::vector<int>& layers) {
  if (layers.empty()) throw config_error("capture_qkv: no layers requested");
  const opt_config& c = m.config;
  for (int l : layers)
    if (l < 0 || l >= c.num_layers)
      throw data_error(fmt::format("layer {} does not exist: '{}' has layers 0 .. {}", l, m.name, c.num_layers - 1));
  opt_forward fwd(m, static_cast<int>(window.size()), attention_plan{});
  fwd.last_layer = *std::max_element(layers.begin(), layers.end());
  const int T = static_cast<int>(window.size());
  const std::size_t n = static_cast<std::size_t>(c.num_heads) * T * c.head_dim();
  std::vector<layer_qkv> out(layers.size());
  fwd.on_attention_inputs = [&](int layer, const float* q, const float* k, const float* v) {
    for (std::size_t i = 0; i < layers.size(); ++i)
      if (layers[i] == layer) {
        out[i] = layer_qkv{c.num_heads, T, c.head_dim(), std::vector<float>(q, q + n), std::vector<float>(k, k + n),
                           std::vector<float>(v, v + n)};
      }
  };
  (void)fwd.logits(window);
  return out;
}

}  // namespace sb::model
