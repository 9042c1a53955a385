// `seabench model-eval`: perplexity of an OPT checkpoint with each variant of a sweep in its attention
// layers (docs/model-eval.md).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sb::cli {

struct model_eval_command_options {
  std::filesystem::path config;
  std::filesystem::path output;  ///< empty: results/runs/<config-stem>-<timestamp>.csv
  std::string device = "auto";   ///< auto | cpu | cuda, as in `seabench run`
  bool resume = false;
  bool overwrite = false;
  bool in_process = false;
  bool quiet = false;
  std::vector<std::string> overrides;
};
int model_eval_command(const model_eval_command_options& o);

}  // namespace sb::cli
