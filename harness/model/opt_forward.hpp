// The OPT forward pass on the CPU (OpenBLAS sgemm for every projection) with each attention layer
// either exact causal softmax attention or a registered attention variant, instantiated once per
// layer for a window length and reused across windows.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/core/params.hpp"
#include "harness/core/types.hpp"
#include "harness/core/variant.hpp"
#include "harness/model/opt_weights.hpp"

namespace sb::model {

/// Which attention the layers run: `variant` on `layers` (every layer when empty), exact attention
/// on the others.
struct attention_plan {
  const attention_variant* variant = nullptr;  ///< nullptr: exact attention in every layer
  param_set params;         ///< text values may contain `{layer}`, replaced by the layer index
  std::optional<int> k;     ///< the case's k (for variants that use it)
  std::uint64_t seed = 0;   ///< the case seed; each layer gets layer_seed(seed, layer)
  std::vector<int> layers;  ///< layers that run the variant; empty = all
};

/// A per-layer seed derived from the case seed and the layer index (Philox of both), so layers draw
/// different features/hashes and a run is reproducible.
[[nodiscard]] std::uint64_t layer_seed(std::uint64_t case_seed, int layer);
/// `params` with every `{layer}` in a text value replaced by the layer index.
[[nodiscard]] param_set params_for_layer(const param_set& params, int layer);
/// Per variant call (window × variant layer) values of each extra column, in call order.
using call_extras = std::map<std::string, std::vector<double>>;
/// Run one variant call and append its run_context::extras to `into`. With `list_support` the variant
/// also lists the keys it attended, giving `keys_per_query` as in `seabench run` (the measured support
/// wins over a reported value); callers ask for it only on an untimed call, since listing costs time.
void run_variant_call(attention_instance& inst, bool list_support, qkv_view in, float* out, call_extras& into);

/// Checks the window length and the plan's layers against the checkpoint and fills the plan's parameter
/// defaults (callers may pass only what they set); throws sb::config_error / sb::data_error naming it.
void prepare_plan(const opt_model& m, int seq_len, attention_plan& plan);
/// Whether `layer` runs the plan's variant (the others run exact attention).
[[nodiscard]] bool plan_uses_variant(const attention_plan& plan, int layer);
/// The variant's instance for every layer that runs it on `device`, null for exact layers; throws
/// sb::unsupported_case naming the layer when the variant cannot run it there.
[[nodiscard]] std::vector<std::unique_ptr<attention_instance>> instantiate_layers(const opt_model& m, int seq_len,
                                                                                  const attention_plan& plan,
                                                                                  device_kind device);

/// The attention problem one layer poses for a window of seq_len tokens: batch 1, the checkpoint's
/// heads and head_dim, causal, fp32.
[[nodiscard]] problem layer_problem(const opt_config& c, int seq_len, std::optional<int> k, std::uint64_t seed);

class opt_forward {
 public:
  /// Check the plan (layer indices, window length vs the position table) and instantiate the variant
  /// for each of its layers. Throws sb::config_error (bad layer), sb::data_error (window too long),
  /// sb::unsupported_case (the variant refuses the problem) or whatever the variant's set-up throws.
  opt_forward(const opt_model& m, int seq_len, attention_plan plan);
  ~opt_forward();
  opt_forward(const opt_forward&) = delete;
  opt_forward& operator=(const opt_forward&) = delete;

  [[nodiscard]] int seq_len() const { return m_seq_len; }
  [[nodiscard]] bool uses_variant(int layer) const;

  /// Logits [seq_len, vocab] of one window of exactly seq_len ids.
  [[nodiscard]] std::vector<float> logits(std::span<const std::int32_t> window);
  /// Summed next-token negative log-likelihood (nats) over the window's seq_len − 1 predictions.
  /// Logits are formed in row blocks and not kept, so memory stays O(block · vocab).
  [[nodiscard]] double window_nll(std::span<const std::int32_t> window);

  /// Called with (layer, q, k, v), each [H, T, D], q unscaled, before that layer's attention runs.
  std::function<void(int, const float*, const float*, const float*)> on_attention_inputs;
  /// Stop after this layer (−1 = run every layer); for capturing inputs without the rest.
  int last_layer = -1;
  /// Extras of every variant call so far (run_variant_call).
  call_extras attention_extras;
  /// Variants that expose their support list it in the following calls (set for an untimed window).
  bool list_support = false;

 private:
  struct buffers;
  /// Embed, run the layers, apply the final LayerNorm: `out` [T, C]. False when stopped early.
  bool hidden_states(std::span<const std::int32_t> window, buffers& b);
  void check_window(std::span<const std::int32_t> window) const;

  const opt_model& m_model;
  int m_seq_len;
  attention_plan m_plan;
  std::vector<std::unique_ptr<attention_instance>> m_instances;  ///< per layer; null = exact
};

/// Exact causal softmax attention for one batch of [H, T, D] (scale 1/sqrt(D) applied here), computed
/// in row blocks so memory is O(block · T) per head.
void exact_causal_attention(int heads, int seq_len, int head_dim, const float* q, const float* k, const float* v,
                            float* out);

}  // namespace sb::model
