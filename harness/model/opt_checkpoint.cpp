// Reading an OPT checkpoint folder: config.json (checked for the features the forward pass supports)
// and model.safetensors (every tensor the forward pass needs, checked for its shape).
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/core/errors.hpp"
#include "harness/io/safetensors.hpp"
#include "harness/model/opt_model.hpp"

namespace sb::model {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

nlohmann::json read_config_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw data_error(fmt::format("OPT checkpoint: cannot open '{}'", file.string()));
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw data_error(fmt::format("OPT checkpoint: '{}' is not valid JSON ({})", file.string(), e.what()));
  }
}

int positive_int(const json& cfg, const std::string& file, const char* key) {
  if (!cfg.contains(key)) throw data_error(fmt::format("OPT checkpoint: '{}' has no '{}'", file, key));
  const json& v = cfg.at(key);
  if (!v.is_number_integer() || v.get<std::int64_t>() <= 0 || v.get<std::int64_t>() > (1 << 30))
    throw data_error(fmt::format("OPT checkpoint: '{}': '{}' must be a positive integer, got {}", file, key, v.dump()));
  return v.get<int>();
}

/// A config flag that must have `wanted` (or be absent, when absent means `wanted`).
template <typename T>
void require_value(const json& cfg, const std::string& file, const char* key, const T& wanted, const char* why) {
  if (!cfg.contains(key) || cfg.at(key).is_null()) return;
  bool same = false;
  try {
    same = cfg.at(key).get<T>() == wanted;
  } catch (const json::exception&) {
  }
  if (!same)
    throw data_error(fmt::format("OPT checkpoint: '{}': {} = {} is not supported ({})", file, key,
                                 cfg.at(key).dump(), why));
}

opt_config read_opt_config(const fs::path& file) {
  const json cfg = read_config_json(file);
  const std::string f = file.string();
  if (!cfg.is_object()) throw data_error(fmt::format("OPT checkpoint: '{}' is not a JSON object", f));
  if (cfg.contains("model_type") && cfg.at("model_type") != "opt")
    throw data_error(fmt::format("OPT checkpoint: '{}': model_type = {} is not supported (only \"opt\")", f,
                                 cfg.at("model_type").dump()));
  require_value(cfg, f, "do_layer_norm_before", true,
                "post-LayerNorm models such as OPT-350m are not supported; only pre-LayerNorm");
  require_value(cfg, f, "_remove_final_layer_norm", false, "the decoder's final LayerNorm is required");
  require_value(cfg, f, "activation_function", std::string("relu"), "only relu");
  require_value(cfg, f, "enable_bias", true, "the loader expects biases on every projection");
  require_value(cfg, f, "layer_norm_elementwise_affine", true, "the loader expects LayerNorm weights and biases");
  opt_config c;
  c.vocab_size = positive_int(cfg, f, "vocab_size");
  c.hidden_size = positive_int(cfg, f, "hidden_size");
  c.num_layers = positive_int(cfg, f, "num_hidden_layers");
  c.num_heads = positive_int(cfg, f, "num_attention_heads");
  c.ffn_dim = positive_int(cfg, f, "ffn_dim");
  c.max_positions = positive_int(cfg, f, "max_position_embeddings");
  if (cfg.contains("tie_word_embeddings") && cfg.at("tie_word_embeddings").is_boolean())
    c.tie_word_embeddings = cfg.at("tie_word_embeddings").get<bool>();
  if (cfg.contains("word_embed_proj_dim") && !cfg.at("word_embed_proj_dim").is_null() &&
      cfg.at("word_embed_proj_dim") != c.hidden_size)
    throw data_error(fmt::format(
        "OPT checkpoint: '{}': word_embed_proj_dim = {} differs from hidden_size = {}; the project_in/project_out "
        "layers this needs (as in OPT-350m) are not supported",
        f, cfg.at("word_embed_proj_dim").dump(), c.hidden_size));
  if (c.hidden_size % c.num_heads != 0)
    throw data_error(fmt::format("OPT checkpoint: '{}': hidden_size {} is not a multiple of num_attention_heads {}",
                                 f, c.hidden_size, c.num_heads));
  return c;
}

/// Tensor lookup under the checkpoint's prefix (`model.decoder.` in HF's OPTForCausalLM exports,
/// `decoder.` in the original OPTModel state dicts).
class tensor_source {
 public:
  explicit tensor_source(const io::safetensors_file& f) : m_file(f) {
    for (const char* p : {"model.decoder.", "decoder."})
      if (f.has(std::string(p) + "embed_tokens.weight")) {
        m_prefix = p;
        return;
      }
    throw data_error(fmt::format(
        "weights file '{}': tensor 'model.decoder.embed_tokens.weight' (or 'decoder.embed_tokens.weight') is "
        "missing; is this an OPT checkpoint?",
        f.path()));
  }
  std::vector<float> take(const std::string& name, std::vector<std::int64_t> shape) const {
    return m_file.get(m_prefix + name, shape).data;
  }
  [[nodiscard]] const io::safetensors_file& file() const { return m_file; }

 private:
  const io::safetensors_file& m_file;
  std::string m_prefix;
};

}  // namespace

opt_model load_opt_checkpoint(const std::string& dir) {
  const fs::path root(dir);
  if (!fs::is_directory(root)) throw data_error(fmt::format("OPT checkpoint: '{}' is not a directory", dir));
  opt_model m;
  m.dir = dir;
  m.name = fs::absolute(root).lexically_normal().filename().string();
  if (m.name.empty()) m.name = fs::absolute(root).lexically_normal().parent_path().filename().string();
  m.config = read_opt_config(root / "config.json");
  const fs::path weights = root / "model.safetensors";
  if (!fs::exists(weights))
    throw data_error(fmt::format("OPT checkpoint: '{}' is missing (only the safetensors format is read)",
                                 weights.string()));
  const io::safetensors_file file = io::safetensors_file::load(weights.string());
  const tensor_source src(file);
  const opt_config& c = m.config;
  const std::int64_t C = c.hidden_size, F = c.ffn_dim;
  m.embed_tokens = src.take("embed_tokens.weight", {c.vocab_size, C});
  m.embed_positions = src.take("embed_positions.weight", {c.max_positions + position_offset, C});
  m.final_ln_weight = src.take("final_layer_norm.weight", {C});
  m.final_ln_bias = src.take("final_layer_norm.bias", {C});
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    opt_layer L;
    L.attn_ln_weight = src.take(p + "self_attn_layer_norm.weight", {C});
    L.attn_ln_bias = src.take(p + "self_attn_layer_norm.bias", {C});
    L.q_weight = src.take(p + "self_attn.q_proj.weight", {C, C});
    L.q_bias = src.take(p + "self_attn.q_proj.bias", {C});
    L.k_weight = src.take(p + "self_attn.k_proj.weight", {C, C});
    L.k_bias = src.take(p + "self_attn.k_proj.bias", {C});
    L.v_weight = src.take(p + "self_attn.v_proj.weight", {C, C});
    L.v_bias = src.take(p + "self_attn.v_proj.bias", {C});
    L.out_weight = src.take(p + "self_attn.out_proj.weight", {C, C});
    L.out_bias = src.take(p + "self_attn.out_proj.bias", {C});
    L.ffn_ln_weight = src.take(p + "final_layer_norm.weight", {C});
    L.ffn_ln_bias = src.take(p + "final_layer_norm.bias", {C});
    L.fc1_weight = src.take(p + "fc1.weight", {F, C});
    L.fc1_bias = src.take(p + "fc1.bias", {F});
    L.fc2_weight = src.take(p + "fc2.weight", {C, F});
    L.fc2_bias = src.take(p + "fc2.bias", {C});
    m.layers.push_back(std::move(L));
  }
  // A separate output head when the checkpoint has one (tie_word_embeddings = false); else tied.
  if (file.has("lm_head.weight")) {
    const auto& head = file.get("lm_head.weight", {c.vocab_size, C}).data;
    if (head != m.embed_tokens) m.lm_head = head;
  } else if (!c.tie_word_embeddings) {
    throw data_error(fmt::format("weights file '{}': tensor 'lm_head.weight' is missing (config.json says "
                                 "tie_word_embeddings = false)",
                                 file.path()));
  }
  return m;
}

opt_config load_opt_config(const std::string& dir) {
  if (!fs::is_directory(dir)) throw data_error(fmt::format("OPT checkpoint: '{}' is not a directory", dir));
  return read_opt_config(fs::path(dir) / "config.json");
}

void validate_token_ids(const opt_model& m, std::span<const std::int32_t> ids) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= m.config.vocab_size)
      throw data_error(fmt::format("token id {} at position {} is outside the vocabulary of '{}' (0 .. {})", ids[i],
                                   i, m.name, m.config.vocab_size - 1));
}

}  // namespace sb::model
