// Shared helpers for the model tests: the fixture's location and small synthetic OPT checkpoints.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/io/safetensors.hpp"

namespace sb::model_test {

/// ../shared/data/tiny-opt-brown (trained 4-layer OPT, see the data README); may be absent.
inline std::filesystem::path fixture_dir() { return std::filesystem::path(SEABENCH_SHARED_DATA_DIR) / "tiny-opt-brown"; }
inline std::filesystem::path brown_val() { return std::filesystem::path(SEABENCH_SHARED_DATA_DIR) / "brown" / "val.txt"; }
inline bool fixture_present() {
  return std::filesystem::exists(fixture_dir() / "model.safetensors") && std::filesystem::exists(brown_val());
}

/// A fresh temporary folder, removed with the object.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           fmt::format("seabench_model_{}_{}", tag, std::random_device{}());
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// config.json of a small OPT: vocab V, hidden C, L layers, H heads, ffn F, P positions.
inline nlohmann::json tiny_config(int V = 40, int C = 16, int L = 2, int H = 2, int F = 32, int P = 64) {
  return {{"model_type", "opt"},           {"architectures", {"OPTForCausalLM"}},
          {"vocab_size", V},               {"hidden_size", C},
          {"num_hidden_layers", L},        {"num_attention_heads", H},
          {"ffn_dim", F},                  {"max_position_embeddings", P},
          {"do_layer_norm_before", true},  {"activation_function", "relu"},
          {"word_embed_proj_dim", C},      {"_remove_final_layer_norm", false},
          {"tie_word_embeddings", true},   {"enable_bias", true}};
}

/// Random weights (fixed seed) under `prefix` ("model.decoder." or "decoder.") for a config.
inline std::map<std::string, io::host_tensor> tiny_weights(const nlohmann::json& cfg, const std::string& prefix,
                                                           unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::map<std::string, io::host_tensor> w;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float mean = 0.0f) {
    io::host_tensor t;
    t.shape = std::move(shape);
    t.data.resize(static_cast<std::size_t>(t.numel()));
    for (auto& x : t.data) x = mean + normal(gen);
    w[prefix + name] = std::move(t);
  };
  const std::int64_t V = cfg["vocab_size"], C = cfg["hidden_size"], F = cfg["ffn_dim"],
                     P = cfg["max_position_embeddings"].get<std::int64_t>() + 2;
  add("embed_tokens.weight", {V, C});
  add("embed_positions.weight", {P, C});
  add("final_layer_norm.weight", {C}, 1.0f);
  add("final_layer_norm.bias", {C});
  for (int l = 0; l < cfg["num_hidden_layers"].get<int>(); ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    add(p + "self_attn_layer_norm.weight", {C}, 1.0f);
    add(p + "self_attn_layer_norm.bias", {C});
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      add(p + "self_attn." + proj + ".weight", {C, C});
      add(p + "self_attn." + proj + ".bias", {C});
    }
    add(p + "final_layer_norm.weight", {C}, 1.0f);
    add(p + "final_layer_norm.bias", {C});
    add(p + "fc1.weight", {F, C});
    add(p + "fc1.bias", {F});
    add(p + "fc2.weight", {C, F});
    add(p + "fc2.bias", {C});
  }
  return w;
}

/// Write config.json and model.safetensors into dir.
inline void write_checkpoint(const std::filesystem::path& dir, const nlohmann::json& config,
                             const std::map<std::string, io::host_tensor>& weights) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << config.dump(2);
  io::write_safetensors((dir / "model.safetensors").string(), weights, {{"format", "pt"}});
}

}  // namespace sb::model_test
