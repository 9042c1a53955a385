// The weights of a loaded OPT checkpoint, widened to fp32, in the checkpoint's own layouts
// (nn.Linear weights are [out, in] row-major, so y = x·Wᵀ + b).
#pragma once

#include <string>
#include <vector>

namespace sb::model {

/// The config.json fields the forward pass uses.
struct opt_config {
  int vocab_size = 0;
  int hidden_size = 0;   ///< C
  int num_layers = 0;
  int num_heads = 0;     ///< H; head_dim = C / H
  int ffn_dim = 0;
  int max_positions = 0; ///< max_position_embeddings (the table holds max_positions + 2 rows)
  bool tie_word_embeddings = true;  ///< false: the checkpoint must hold lm_head.weight
  [[nodiscard]] int head_dim() const { return num_heads > 0 ? hidden_size / num_heads : 0; }
};

/// OPT's learned positional embedding reserves rows 0 and 1 (padding); position p uses row p + 2.
inline constexpr int position_offset = 2;

struct opt_layer {
  std::vector<float> attn_ln_weight, attn_ln_bias;  ///< self_attn_layer_norm [C]
  std::vector<float> q_weight, q_bias;              ///< [C, C], [C]
  std::vector<float> k_weight, k_bias;
  std::vector<float> v_weight, v_bias;
  std::vector<float> out_weight, out_bias;
  std::vector<float> ffn_ln_weight, ffn_ln_bias;    ///< final_layer_norm of the layer [C]
  std::vector<float> fc1_weight, fc1_bias;          ///< [F, C], [F]
  std::vector<float> fc2_weight, fc2_bias;          ///< [C, F], [C]
};

struct opt_model {
  std::string dir;                ///< the checkpoint folder it was loaded from
  std::string name;               ///< the folder's name (the CSV `model` cell)
  opt_config config;
  std::vector<float> embed_tokens;     ///< [V, C]
  std::vector<float> embed_positions;  ///< [max_positions + 2, C]
  std::vector<opt_layer> layers;
  std::vector<float> final_ln_weight, final_ln_bias;  ///< [C]
  std::vector<float> lm_head;  ///< [V, C]; empty when tied to embed_tokens
  [[nodiscard]] const std::vector<float>& output_head() const { return lm_head.empty() ? embed_tokens : lm_head; }
};

}  // namespace sb::model
