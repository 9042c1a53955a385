// `seabench inspect`: SEA's stages for one case and head, as matrices and heatmaps.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sb::cli {

struct inspect_command_options {
  std::filesystem::path config;
  std::string case_id;   ///< as printed by `seabench validate --device cpu`
  int head = 0;
  int batch = 0;
  std::filesystem::path output_dir;
  std::vector<std::string> overrides;
};
int inspect_command(const inspect_command_options& o);

}  // namespace sb::cli
