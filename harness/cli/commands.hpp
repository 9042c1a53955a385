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

/// `seabench chart`: line charts and trade-off scatters from result CSVs (docs/charts-and-reports.md).
struct chart_command_options {
  std::vector<std::filesystem::path> inputs;
  std::filesystem::path output;       ///< .png or .svg
  std::string preset;                 ///< memory-vs-T | latency-vs-T | accuracy-vs-k | tradeoff | empty
  std::string x, y;
  std::vector<std::string> by;
  std::vector<std::string> where;
  std::string title;
  bool logx = false, logy = false, linx = false, liny = false;
  bool scatter = false;
  bool extrapolate = false;
  std::filesystem::path script;       ///< also keep the gnuplot script here
};
int chart_command(const chart_command_options& o);

/// `seabench report`: markdown or CSV tables from result CSVs (docs/charts-and-reports.md).
struct report_command_options {
  std::vector<std::filesystem::path> inputs;
  std::filesystem::path output;       ///< empty: stdout
  std::string format;                 ///< md | csv; empty: from the output's extension, else md
  std::string layout = "figure";      ///< figure | cost | stages
  std::string metric = "both";        ///< figure layout: latency | memory | both
  std::vector<std::string> by;
  std::vector<std::string> where;
  bool per_sample = false;
};
int report_command(const report_command_options& o);

}  // namespace sb::cli
