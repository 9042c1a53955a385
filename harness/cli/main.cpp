// seabench: benchmark and ablation harness for efficient attention.
//   seabench list
//   seabench validate CONFIG.toml [--set key=value]...
//   seabench run CONFIG.toml [-o OUT.csv] [--device auto|cpu|cuda] [--resume | --overwrite] [--set key=value]...
//   seabench chart RESULTS.csv... -o OUT.png|OUT.svg [--preset NAME] [--x COL] [--y COL] [--by COL,...] [--where COL=VALUE]...
//   seabench inspect CONFIG.toml --case CASE_ID [--head H] -o DIR
//   seabench model-eval CONFIG.toml [-o OUT.csv] [--device auto|cpu|cuda] [--resume | --overwrite] [--set key=value]...
//   seabench distill CONFIG.toml [-o DIR] [--layers 0,1] [--resume] [--stop-after N]
//   seabench report RESULTS.csv... [-o OUT.md] [--format md|csv] [--layout figure|cost|stages] [--where COL=VALUE]...
#include <cstring>

#include <CLI/CLI.hpp>

#include "harness/cli/commands.hpp"
#include "harness/cli/distill_command.hpp"
#include "harness/cli/inspect_command.hpp"
#include "harness/cli/model_eval_command.hpp"
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

  sb::cli::chart_command_options chart_opts;
  auto* chart = app.add_subcommand("chart", "Draw line charts or trade-off scatters from result CSVs (gnuplot)");
  chart->add_option("results", chart_opts.inputs, "result CSVs (concatenated, columns matched by name)")
      ->required()
      ->check(CLI::ExistingPath);
  chart->add_option("-o,--output", chart_opts.output, "the chart: OUT.png or OUT.svg")->required();
  chart->add_option("--preset", chart_opts.preset, "memory-vs-T | latency-vs-T | accuracy-vs-k | tradeoff");
  chart->add_option("--x", chart_opts.x, "x column (overrides the preset's)");
  chart->add_option("--y", chart_opts.y, "y column (overrides the preset's)");
  chart->add_option("--by", chart_opts.by, "one line per value of these columns (and the variant); 'params' = "
                                           "the distinguishing parameters")->delimiter(',')
      ->allow_extra_args(false);
  chart->add_option("--where", chart_opts.where, "keep rows with COL=VALUE[,VALUE...] or COL!=VALUE (repeatable)")
      ->allow_extra_args(false);
  chart->add_option("--title", chart_opts.title, "chart title");
  chart->add_flag("--logx", chart_opts.logx, "log x axis");
  chart->add_flag("--logy", chart_opts.logy, "log y axis");
  chart->add_flag("--linx", chart_opts.linx, "linear x axis (overrides the preset's log axis)");
  chart->add_flag("--liny", chart_opts.liny, "linear y axis (overrides the preset's log axis)");
  chart->add_flag("--scatter", chart_opts.scatter, "trade-off scatter: one point per cost point, joined per method");
  chart->add_flag("--extrapolate", chart_opts.extrapolate, "dotted continuation of a line past the T where it ran out of memory");
  chart->add_option("--script", chart_opts.script, "also write the gnuplot script here");

  sb::cli::report_command_options report_opts;
  auto* report = app.add_subcommand("report", "Markdown or CSV tables from result CSVs (paper layouts)");
  report->add_option("results", report_opts.inputs, "result CSVs (concatenated, columns matched by name)")
      ->required()
      ->check(CLI::ExistingPath);
  report->add_option("-o,--output", report_opts.output, "write here instead of stdout");
  report->add_option("--format", report_opts.format, "md | csv (default: from the output's extension, else md)");
  report->add_option("--layout", report_opts.layout, "figure (methods x T) | cost (method, k, K) | stages (SEA)");
  report->add_option("--metric", report_opts.metric, "figure layout: latency | memory | both");
  report->add_option("--by", report_opts.by, "group rows by these columns (and the variant)")->delimiter(',')
      ->allow_extra_args(false);
  report->add_option("--where", report_opts.where, "keep rows with COL=VALUE[,VALUE...] or COL!=VALUE (repeatable)")
      ->allow_extra_args(false);
  report->add_flag("--per-sample", report_opts.per_sample, "divide latency and memory by the batch size");

  sb::cli::inspect_command_options inspect_opts;
  auto* inspect = app.add_subcommand(
      "inspect", "For one SEA case and head: exact attention, estimated compressed attention, mask, sparse attention");
  inspect->add_option("config", inspect_opts.config, "sweep config (TOML)")->required()->check(CLI::ExistingFile);
  inspect->add_option("--case", inspect_opts.case_id, "case id (from `seabench validate --device cpu`)")->required();
  inspect->add_option("--head", inspect_opts.head, "head index (default 0)");
  inspect->add_option("--batch", inspect_opts.batch, "batch index (default 0)");
  inspect->add_option("-o,--output", inspect_opts.output_dir, "output folder (CSV matrices, inspect.png)")->required();
  inspect->add_option("--set", inspect_opts.overrides, "override a config value: dotted.key=value (repeatable)");

  sb::cli::model_eval_command_options model_eval_opts;
  auto* model_eval = app.add_subcommand(
      "model-eval", "Perplexity of an OPT checkpoint with each variant of a sweep in its attention layers "
                    "(docs/model-eval.md)");
  model_eval->add_option("config", model_eval_opts.config, "model-eval config (TOML, [model] table)")
      ->required()
      ->check(CLI::ExistingFile);
  model_eval->add_option("-o,--output", model_eval_opts.output, "results CSV (default: results/runs/<config>-<time>.csv)");
  model_eval->add_option("--device", model_eval_opts.device, "auto | cpu | cuda (auto: the GPU where a variant has CUDA)");
  auto* me_resume = model_eval->add_flag("--resume", model_eval_opts.resume, "continue an existing results file");
  model_eval->add_flag("--overwrite", model_eval_opts.overwrite, "replace an existing results file")->excludes(me_resume);
  model_eval->add_option("--set", model_eval_opts.overrides, "override a config value: dotted.key=value (repeatable)");
  model_eval->add_flag("--in-process", model_eval_opts.in_process, "no forked child per case (debugging)");
  model_eval->add_flag("-q,--quiet", model_eval_opts.quiet, "no progress lines and no summary table");

  sb::cli::distill_command_options distill_opts;
  auto* distill = app.add_subcommand("distill", "Train SEA's learned estimator on a frozen teacher's attention "
                                                "(one weights file per layer; docs/distill.md)");
  distill->add_option("config", distill_opts.config, "distill config (TOML, [distill] table)")
      ->required()
      ->check(CLI::ExistingFile);
  distill->add_option("-o,--output", distill_opts.output, "output folder (overrides [distill] output)");
  distill->add_option("--layers", distill_opts.layers, "layers to train (overrides [distill] layers)")
      ->delimiter(',')
      ->allow_extra_args(false);
  distill->add_flag("--resume", distill_opts.resume, "continue each layer from its checkpoint");
  distill->add_option("--stop-after", distill_opts.stop_after, "leave each layer after N steps (checkpointed)");

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
  if (*inspect) return sb::cli::inspect_command(inspect_opts);
  if (*distill) return sb::cli::distill_command(distill_opts);
  if (*model_eval) return sb::cli::model_eval_command(model_eval_opts);
  if (*validate) return sb::cli::validate_command(config, overrides, device);
  if (*run) return sb::cli::run_command(run_opts);
  if (*chart) return sb::cli::chart_command(chart_opts);
  if (*report) return sb::cli::report_command(report_opts);
  return sb::cli::exit_bad_usage;
}
