// A Hugging Face OPT checkpoint (`OPTForCausalLM`: config.json + model.safetensors, fp32/fp16/bf16) and
// its CPU forward pass, in which every attention layer is a registered attention variant. Supported:
// what facebook/opt-125m and -1.3b need (pre-LayerNorm, ReLU, learned positions with offset 2, tied
// or separate output head). Anything else (OPT-350m's post-LayerNorm and project_in/out, other
// activations, _remove_final_layer_norm) is rejected with sb::data_error rather than computed wrongly.
//
// Scale convention: HF OPT multiplies the q_proj output by head_dim^-0.5 in code; the harness's
// variants apply problem::scale() = 1/sqrt(head_dim) themselves. So queries are handed over UNSCALED
// (x·Wqᵀ + bq) and the scale is applied exactly once, by the variant.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness/model/opt_weights.hpp"

namespace sb::model {

/// Load `dir`/config.json and `dir`/model.safetensors, widening every weight to fp32. Tensor names
/// are those of the public checkpoints, with or without the leading `model.` (`model.decoder.…` or
/// `decoder.…`). Throws sb::data_error naming the file and the problem (missing tensor, shape
/// mismatch, unsupported config flag).
[[nodiscard]] opt_model load_opt_checkpoint(const std::string& dir);

/// Only `dir`/config.json, checked as load_opt_checkpoint checks it (no weights are read).
[[nodiscard]] opt_config load_opt_config(const std::string& dir);

/// Token ids from a file: tokens = "byte+4" (each raw byte b is token b + 4, the fixture's byte-level
/// vocabulary) or "npy" (a 1-D int32/int64 .npy of ids produced by the user's tokenizer). Ids are
/// validated against a model's vocabulary where they are used (validate_token_ids). Throws
/// sb::data_error (unreadable file, wrong dtype or rank) or sb::config_error (unknown `tokens`).
[[nodiscard]] std::vector<std::int32_t> load_token_ids(const std::string& path, const std::string& tokens);

/// Throws sb::data_error naming the first id outside [0, vocab_size) and its position.
void validate_token_ids(const opt_model& m, std::span<const std::int32_t> ids);

/// The inputs of one attention layer for one window, [H, T, D] each; q UNSCALED (x·Wqᵀ + bq).
struct layer_qkv {
  int heads = 0, seq_len = 0, head_dim = 0;
  std::vector<float> q, k, v;
};

/// Run one window with exact attention in every layer and return the inputs of the requested
/// attention layers, in the order requested. Throws sb::data_error for a bad layer index, a window
/// longer than the position table or a token id outside the vocabulary.
[[nodiscard]] std::vector<layer_qkv> capture_qkv(const opt_model& m, std::span<const std::int32_t> window,
                                                 const std::vector<int>& layers);

}  // namespace sb::model
