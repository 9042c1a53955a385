// The seabench subcommands. Each returns the process exit code: 0 success (every case wrote a row,
// whatever its status), 1 the harness itself failed, 2 bad usage or a bad config.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sb::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_harness_failure = 1;
inline constexpr int exit_bad_usage = 2;

int list_command();
int validate_command(const std::filesystem::path& config, const std::vector<std::string>& overrides,
                     const std::string& device);

struct run_command_options {
  std::filesystem::path config;
  std::filesystem::path output;  ///< empty: results/runs/<config-stem>-<timestamp>.csv
  std::string device = "auto";
  bool resume = false;
  bool overwrite = false;
  bool in_process = false;
  bool quiet = false;
  std::vector<std::string> overrides;
};
int run_command(const run_command_options& o);

}  // namespace sb::cli
