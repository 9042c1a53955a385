// `seabench distill CONFIG.toml`: fit SEA's learned estimator (`estimator = performer`) to a frozen
// teacher's attention, one weights file per layer (docs/distill.md).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sb::cli {

struct distill_command_options {
  std::filesystem::path config;
  std::filesystem::path output;  ///< overrides [distill] output
  std::vector<int> layers;       ///< overrides [distill] layers
  bool resume = false;           ///< continue from each layer's checkpoint
  long long stop_after = 0;      ///< leave each layer after this many steps (checkpointed)
};
int distill_command(const distill_command_options& o);

}  // namespace sb::cli
