// Bad inputs to the model loader and the perplexity evaluation: each error names the problem.
#include <catch2/catch.hpp>

#include <fstream>

#include "harness/core/errors.hpp"
#include "harness/io/npy.hpp"
#include "harness/model/opt_model.hpp"
#include "harness/model/perplexity.hpp"
#include "tests/model/model_test_util.hpp"

using namespace sb;
using namespace sb::model;
using Catch::Contains;

TEST_CASE("model: a missing tensor is named", "[model]") {
  model_test::temp_dir dir("missing");
  const auto cfg = model_test::tiny_config();
  auto w = model_test::tiny_weights(cfg, "model.decoder.");
  w.erase("model.decoder.layers.1.fc2.bias");
  model_test::write_checkpoint(dir.path, cfg, w);
  CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()),
                    Contains("model.decoder.layers.1.fc2.bias") && Contains("missing"));
}

TEST_CASE("model: a tensor of the wrong shape is named with both shapes", "[model]") {
  model_test::temp_dir dir("shape");
  const auto cfg = model_test::tiny_config();
  auto w = model_test::tiny_weights(cfg, "model.decoder.");
  auto& t = w.at("model.decoder.layers.0.self_attn.k_proj.weight");
  t.shape = {16, 8};
  t.data.resize(128);
  model_test::write_checkpoint(dir.path, cfg, w);
  CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()),
                    Contains("layers.0.self_attn.k_proj.weight") && Contains("[16, 8]") && Contains("[16, 16]"));
}

TEST_CASE("model: unsupported config flags are rejected by name", "[model]") {
  struct flag_case {
    const char* key;
    nlohmann::json value;
    const char* says;
  };
  const flag_case cases[] = {
      {"do_layer_norm_before", false, "post-LayerNorm"},
      {"word_embed_proj_dim", 8, "project_in"},
      {"_remove_final_layer_norm", true, "final LayerNorm"},
      {"activation_function", "gelu", "only relu"},
      {"model_type", "gpt2", "only \"opt\""},
  };
  for (const auto& c : cases) {
    INFO(c.key);
    model_test::temp_dir dir("flag");
    auto cfg = model_test::tiny_config();
    const auto w = model_test::tiny_weights(cfg, "model.decoder.");
    cfg[c.key] = c.value;
    model_test::write_checkpoint(dir.path, cfg, w);
    CHECK_THROWS_AS(load_opt_checkpoint(dir.path.string()), data_error);
    CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()), Contains(c.key) && Contains(c.says));
  }
}

TEST_CASE("model: missing files and an untied head without lm_head are reported", "[model]") {
  model_test::temp_dir dir("files");
  CHECK_THROWS_WITH(load_opt_checkpoint((dir.path / "absent").string()), Contains("not a directory"));
  CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()), Contains("config.json"));
  auto cfg = model_test::tiny_config();
  std::ofstream(dir.path / "config.json") << cfg.dump();
  CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()), Contains("model.safetensors"));
  cfg["tie_word_embeddings"] = false;
  model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, "model.decoder."));
  CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()), Contains("lm_head.weight"));
  cfg.erase("ffn_dim");
  std::ofstream(dir.path / "config.json") << cfg.dump();
  CHECK_THROWS_WITH(load_opt_checkpoint(dir.path.string()), Contains("ffn_dim"));
}

TEST_CASE("model: token ids out of range and texts shorter than one window are errors", "[model]") {
  model_test::temp_dir dir("tokens");
  const auto cfg = model_test::tiny_config(/*V=*/40);
  model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, "decoder."));
  const opt_model m = load_opt_checkpoint(dir.path.string());

  // byte+4 on text: 'a' = 97 → id 101, outside a vocabulary of 40.
  std::ofstream(dir.path / "text.txt") << "abcdefghijklmnopqrstuvwxyz";
  const auto ids = load_token_ids((dir.path / "text.txt").string(), "byte+4");
  REQUIRE(ids.size() == 26);
  CHECK(ids[0] == 'a' + 4);
  CHECK_THROWS_WITH(validate_token_ids(m, ids), Contains("token id 101 at position 0") && Contains("0 .. 39"));
  CHECK_THROWS_WITH(evaluate_perplexity(m, ids, 8, 0, {}), Contains("token id 101"));

  // A text shorter than one window.
  const std::vector<std::int32_t> few{1, 2, 3};
  CHECK_THROWS_WITH(evaluate_perplexity(m, few, 8, 0, {}), Contains("3 tokens") && Contains("fewer than one window of 8"));
  CHECK_THROWS_WITH(non_overlapping_windows(few, 8, 0), Contains("fewer than one window"));

  // npy ids: int64 accepted, float and 2-D refused, out-of-range id caught at use.
  const auto npy = dir.path / "ids.npy";
  {
    std::ofstream out(npy, std::ios::binary);
    out << make_npy_header("<i8", false, {3});
    const std::int64_t v[3] = {5, 39, 40};
    out.write(reinterpret_cast<const char*>(v), sizeof v);
  }
  const auto from_npy = load_token_ids(npy.string(), "npy");
  CHECK(from_npy == std::vector<std::int32_t>{5, 39, 40});
  CHECK_THROWS_WITH(validate_token_ids(m, from_npy), Contains("token id 40 at position 2"));
  {
    std::ofstream out(npy, std::ios::binary);
    out << make_npy_header("<f4", false, {2});
    const float v[2] = {1, 2};
    out.write(reinterpret_cast<const char*>(v), sizeof v);
  }
  CHECK_THROWS_WITH(load_token_ids(npy.string(), "npy"), Contains("<f4") && Contains("int32"));
  {
    std::ofstream out(npy, std::ios::binary);
    out << make_npy_header("<i4", false, {1, 2});
    const std::int32_t v[2] = {1, 2};
    out.write(reinterpret_cast<const char*>(v), sizeof v);
  }
  CHECK_THROWS_WITH(load_token_ids(npy.string(), "npy"), Contains("not 1-D"));
  CHECK_THROWS_AS(load_token_ids(npy.string(), "words"), config_error);
  CHECK_THROWS_WITH(load_token_ids((dir.path / "absent.txt").string(), "byte+4"), Contains("cannot open"));
}

TEST_CASE("model: a window longer than the position table and bad layer indices are refused", "[model]") {
  model_test::temp_dir dir("window");
  const auto cfg = model_test::tiny_config(40, 16, 2, 2, 32, /*P=*/64);
  model_test::write_checkpoint(dir.path, cfg, model_test::tiny_weights(cfg, "decoder."));
  const opt_model m = load_opt_checkpoint(dir.path.string());
  CHECK_THROWS_WITH(opt_forward(m, 65, {}), Contains("65") && Contains("max_position_embeddings"));
  attention_plan plan;
  plan.layers = {2};
  CHECK_THROWS_WITH(opt_forward(m, 16, plan), Contains("layer 2") && Contains("0 .. 1"));
  const std::vector<std::int32_t> ids(16, 3);
  CHECK_THROWS_WITH(capture_qkv(m, ids, {5}), Contains("layer 5"));
}
