// `seabench model-eval` configs: a [model] table (checkpoint, text, tokens, window length, how many
// windows, which layers get the variant) plus the usual [sweep] table and [[variant]] list, whose
// variants, parameters, k and seeds expand exactly as in `seabench run` (docs/model-eval.md).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/config/sweep_plan.hpp"
#include "harness/model/opt_weights.hpp"

namespace sb::model {

/// The [model] table, paths resolved against the config's folder.
struct model_section {
  std::string checkpoint;         ///< folder with config.json + model.safetensors
  std::string text;               ///< token file
  std::string tokens = "byte+4";  ///< "byte+4" | "npy"
  int seq_len = 0;                ///< window length T
  int max_windows = 0;            ///< 0 = every full window of the text
  std::vector<int> layers;        ///< layers that run the variant; empty = all
};

struct model_eval_plan {
  model_section model;
  opt_config checkpoint_config;  ///< from config.json (heads and head_dim set the sweep's shape)
  sweep_plan sweep;              ///< one case per (variant, parameters, k, seed)
};

/// Read, apply `--set` overrides (`model.max_windows=4` works too), validate and expand. Every
/// problem throws sb::config_error naming the file and the key.
[[nodiscard]] model_eval_plan load_model_eval_plan(const std::filesystem::path& file,
                                                   const std::vector<std::string>& overrides = {});
[[nodiscard]] model_eval_plan parse_model_eval_plan(std::string_view toml_text,
                                                    const std::filesystem::path& config_dir,
                                                    const std::vector<std::string>& overrides,
                                                    std::string_view source_name);

}  // namespace sb::model
