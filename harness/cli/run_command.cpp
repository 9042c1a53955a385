// `seabench validate` (a dry run: parse, expand, print the cases) and `seabench run`.
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/config/sweep_plan.hpp"
#include "harness/core/errors.hpp"
#include "harness/report/summary_table.hpp"
#include "harness/runner/environment.hpp"
#include "harness/runner/sweep_runner.hpp"

namespace sb::cli {
namespace fs = std::filesystem;

namespace {

fs::path default_output(const fs::path& config) {
  std::string stamp = utc_timestamp();
  for (char& c : stamp)
    if (c == ':') c = '-';
  return fs::path("results") / "runs" / fmt::format("{}-{}.csv", config.stem().string(), stamp);
}

}  // namespace

int validate_command(const fs::path& config, const std::vector<std::string>& overrides, const std::string& device) {
  try {
    sweep_plan plan = load_sweep_plan(config, overrides);
    assign_devices(plan.cases, device);
    print_plan_table(plan.cases, stdout);
    std::printf("%zu cases from %s\n", plan.cases.size(), config.c_str());
    return exit_ok;
  } catch (const config_error& e) {
    std::fprintf(stderr, "seabench: config error: %s\n", e.what());
    return exit_bad_usage;
  }
}

int run_command(const run_command_options& o) {
  if (o.resume && o.overwrite) {
    std::fprintf(stderr, "seabench: --resume and --overwrite exclude each other\n");
    return exit_bad_usage;
  }
  sweep_plan plan;
  run_options options;
  try {
    plan = load_sweep_plan(o.config, o.overrides);
    options.output = o.output.empty() ? default_output(o.config) : o.output;
    options.mode = o.resume ? open_mode::resume : o.overwrite ? open_mode::overwrite : open_mode::create;
    options.device = o.device;
    options.worker_exe = fs::read_symlink("/proc/self/exe");
    options.isolate = !o.in_process;
    options.progress = !o.quiet;
    assign_devices(plan.cases, o.device);
  } catch (const config_error& e) {
    std::fprintf(stderr, "seabench: config error: %s\n", e.what());
    return exit_bad_usage;
  }
  try {
    const run_summary s = run_sweep(std::move(plan), options);
    if (!o.quiet) print_results_table(s.rows, stdout);
    std::string statuses;
    for (const auto& [status, n] : s.by_status) statuses += fmt::format("{}{} {}", statuses.empty() ? "" : ", ", n, status);
    std::printf("%zu cases: %zu written (%s), %zu already in the file; results: %s\n", s.planned, s.rows.size(),
                statuses.empty() ? "none" : statuses.c_str(), s.already_done, options.output.c_str());
    return exit_ok;
  } catch (const config_error& e) {
    std::fprintf(stderr, "seabench: %s\n", e.what());
    return exit_bad_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seabench: harness failure: %s\n", e.what());
    return exit_harness_failure;
  }
}

}  // namespace sb::cli
