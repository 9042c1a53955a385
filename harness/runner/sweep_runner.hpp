// The parent side of a sweep: resolves devices, opens the results file (create / overwrite / resume),
// runs each case in a worker process and appends its row as soon as it finishes.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/config/sweep_plan.hpp"
#include "harness/report/results_file.hpp"

namespace sb {

struct run_options {
  std::filesystem::path output;        ///< results CSV
  open_mode mode = open_mode::create;
  std::string device = "auto";         ///< auto | cpu | cuda
  std::filesystem::path worker_exe;    ///< executable with the `__worker` subcommand
  bool isolate = true;                 ///< false: run cases in this process (debugging only)
  bool progress = true;                ///< one line per finished case on stderr
};

struct run_summary {
  std::size_t planned = 0;
  std::size_t already_done = 0;             ///< skipped by --resume
  std::vector<nlohmann::json> rows;         ///< rows written by this invocation
  std::map<std::string, std::size_t> by_status;
};

/// Resolve each case's device (recomputing its id) — throws sb::config_error for an impossible --device.
void assign_devices(std::vector<case_spec>& cases, const std::string& device);

/// Run the plan. Throws sb::config_error for usage problems found before anything runs (bad
/// --device, output exists without --resume/--overwrite) and std::runtime_error if the harness
/// itself fails (results file unwritable or malformed).
[[nodiscard]] run_summary run_sweep(sweep_plan plan, const run_options& options);

/// The identity columns of a case (case_id, variant, params, shape, dataset, param_<name>...).
[[nodiscard]] nlohmann::json identity_columns(const case_spec& c);

}  // namespace sb
