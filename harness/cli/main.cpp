// seabench: benchmark and ablation harness for efficient attention.
//   seabench list
//   seabench validate CONFIG.toml [--set key=value]...
//   seabench run CONFIG.toml [-o OUT.csv] [--device auto|cpu|cuda] [--resume | --overwrite] [--set key=value]...
#include <cstring>

#include <CLI/CLI.hpp>

#include "harness/cli/commands.hpp"
#include "harness/runner/case_worker.hpp"

int main(int argc, char** argv) {
  // The per-case worker process (internal; see harness/runner/worker_process.hpp).
  if (argc == 2 && std::strcmp(argv[1], "__worker") == 0) return sb::worker_main();

  CLI::App app{"seabench: benchmark and ablation harness for efficient attention (SEA and baselines)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SEABENCH_VERSION);

  auto* list = app.add_subcommand("list", "List variants (parameters, defaults, capabilities) and datasets");

  std::string config;
  std::vector<std::string> overrides;
  std::string device = "auto";
  auto* validate = app.add_subcommand("validate", "Parse and expand a sweep config and print its cases (a dry run)");
  validate->add_option("config", config, "sweep config (TOML)")->required()->check(CLI::ExistingFile);
  validate->add_option("--set", overrides, "override a config value: dotted.key=value (repeatable)");
  validate->add_option("--device", device, "auto | cpu | cuda");

  sb::cli::run_command_options run_opts;
  auto* run = app.add_subcommand("run", "Run a sweep and write one CSV row per case");
  run->add_option("config", run_opts.config, "sweep config (TOML)")->required()->check(CLI::ExistingFile);
  run->add_option("-o,--output", run_opts.output, "results CSV (default: results/runs/<config>-<time>.csv)");
  run->add_option("--device", run_opts.device, "auto | cpu | cuda (auto: the GPU where a variant has CUDA)");
  auto* resume = run->add_flag("--resume", run_opts.resume, "continue an existing results file, skipping its cases");
  run->add_flag("--overwrite", run_opts.overwrite, "replace an existing results file")->excludes(resume);
  run->add_option("--set", run_opts.overrides, "override a config value: dotted.key=value (repeatable)");
  run->add_flag("--in-process", run_opts.in_process, "run cases in this process (debugging; no crash isolation)");
  run->add_flag("-q,--quiet", run_opts.quiet, "no progress lines and no summary table");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return sb::cli::exit_bad_usage;
  }
  if (*list) return sb::cli::list_command();
  if (*validate) return sb::cli::validate_command(config, overrides, device);
  if (*run) return sb::cli::run_command(run_opts);
  return sb::cli::exit_bad_usage;
}
