// `seabench model-eval CONFIG.toml`: load the checkpoint and the text once, then evaluate each case in
// a forked child (a crash or hang becomes that case's error / timeout row) and append its row.
#include "harness/cli/model_eval_command.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/core/errors.hpp"
#include "harness/model/eval_case.hpp"
#include "harness/model/eval_config.hpp"
#include "harness/model/opt_model.hpp"
#include "harness/model/perplexity.hpp"
#include "harness/report/columns.hpp"
#include "harness/report/results_file.hpp"
#include "harness/runner/device_select.hpp"
#include "harness/runner/environment.hpp"
#include "harness/runner/progress.hpp"
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

std::string case_label(const case_spec& c) {
  return fmt::format("{} {} k={} seed={}", c.variant, c.params.canonical(), c.prob.k ? std::to_string(*c.prob.k) : "-",
                     c.prob.seed);
}

std::string outcome_text(const nlohmann::json& row) {
  const std::string status = row.value("status", "?");
  if (status == "ok")
    return fmt::format("ok nll {:.4f} ppl {:.3f} ({:.0f} ms/window)", row.value("nll", 0.0), row.value("ppl", 0.0),
                       row.value("latency_ms_median", 0.0));
  return row.contains("error") && row["error"].is_string() ? status + ": " + row["error"].get<std::string>() : status;
}

void print_summary(const std::vector<nlohmann::json>& rows) {
  std::printf("%-22s %-40s %6s %9s %9s %12s %12s  %s\n", "variant", "params", "k", "nll", "ppl", "ms/window",
              "peak MiB", "status");
  for (const auto& r : rows) {
    const bool ok = r.value("status", "") == "ok";
    std::string params = r.value("params", "");
    if (params.size() > 40) params = params.substr(0, 37) + "...";
    std::printf("%-22s %-40s %6s %9s %9s %12s %12s  %s\n", r.value("variant", "").c_str(), params.c_str(),
                r["k"].is_null() ? "-" : r["k"].dump().c_str(), ok ? fmt::format("{:.4f}", r.value("nll", 0.0)).c_str() : "-",
                ok ? fmt::format("{:.3f}", r.value("ppl", 0.0)).c_str() : "-",
                ok ? fmt::format("{:.1f}", r.value("latency_ms_median", 0.0)).c_str() : "-",
                ok ? fmt::format("{:.1f}", r.value("peak_mem_bytes", 0.0) / 1048576.0).c_str() : "-",
                r.value("status", "?").c_str());
  }
}

/// --device checked up front without a CUDA call: the parent forks a child per case, and a child
/// cannot use CUDA once its parent has initialised it. Whether a GPU is visible is decided in the
/// child (an `error` row naming the problem when cuda was asked for and there is none).
void check_device_request(const std::string& device) {
  if (device != "auto" && device != "cpu" && device != "cuda")
    throw config_error(fmt::format("--device '{}' is not a device (allowed: auto, cpu, cuda)", device));
#ifndef SEABENCH_HAVE_CUDA
  if (device == "cuda")
    throw config_error("--device cuda: this seabench was built without CUDA (nvcc was not found at configure time)");
#endif
}

}  // namespace

int model_eval_command(const model_eval_command_options& o) {
  if (o.resume && o.overwrite) {
    std::fprintf(stderr, "seabench: --resume and --overwrite exclude each other\n");
    return exit_bad_usage;
  }
  model::model_eval_plan plan;
  model::opt_model m;
  std::vector<std::int32_t> ids;
  const fs::path output = o.output.empty() ? default_output(o.config) : o.output;
  try {
    check_device_request(o.device);
    if (o.in_process) validate_device_request(o.device);  // no children: the GPU can be looked for here
    plan = model::load_model_eval_plan(o.config, o.overrides);
    if (!o.resume && !o.overwrite && fs::exists(output) && fs::file_size(output) > 0)
      throw config_error(fmt::format("'{}' exists; pass --resume to continue it or --overwrite to replace it",
                                     output.string()));
    // Bad model inputs stop the command before any row is written.
    m = model::load_opt_checkpoint(plan.model.checkpoint);
    ids = model::load_token_ids(plan.model.text, plan.model.tokens);
    const auto windows = model::non_overlapping_windows(ids, plan.model.seq_len, plan.model.max_windows);
    for (const auto& w : windows) model::validate_token_ids(m, w);
  } catch (const config_error& e) {
    std::fprintf(stderr, "seabench: config error: %s\n", e.what());
    return exit_bad_usage;
  } catch (const data_error& e) {
    std::fprintf(stderr, "seabench: model input error: %s\n", e.what());
    return exit_bad_usage;
  }
  try {
    std::vector<std::string> columns = columns_for(plan.sweep.cases);
    for (const auto& c : model::model_eval_columns()) columns.push_back(c);
    results_file file(output, columns,
                      o.resume ? open_mode::resume : o.overwrite ? open_mode::overwrite : open_mode::create);
    if (file.existing().repaired_torn_line)
      std::fprintf(stderr, "seabench: cut an incomplete last line from %s\n", output.c_str());
    if (!file.dropped_columns().empty())
      std::fprintf(stderr, "seabench: the existing file lacks %zu columns of this run; they are left out: %s\n",
                   file.dropped_columns().size(), fmt::format("{}", fmt::join(file.dropped_columns(), ", ")).c_str());
    const nlohmann::json env = environment_columns();
    const std::string run_id = fmt::format("{}-{}", utc_timestamp(), static_cast<unsigned>(getpid()));
    const std::string cpu_name = device_name(device_kind::cpu);
    progress_display progress(plan.sweep.cases.size(), !o.quiet);
    std::vector<nlohmann::json> rows;
    std::size_t index = 0, already = 0;
    for (const auto& c : plan.sweep.cases) {
      ++index;
      if (file.existing().case_ids.count(c.case_id())) {
        ++already;
        continue;
      }
      progress.start_case(index, case_label(c));
      auto work = [&] { return model::evaluate_case(m, ids, plan.model, c, o.device); };
      nlohmann::json row;
      if (o.in_process) {
        row = work();
      } else {
        const auto f = model::run_forked(work, c.measure.case_timeout_s, [&](double t) { progress.tick(t); });
        row = f.row;
        row["case_wall_s"] = f.wall_s;
      }
      if (!row.contains("model")) row["model"] = m.name;
      // The device the case ran on is known to the case's process only (see check_device_request).
      // A child that died before saying so ran where --device forced it (auto: the CPU is assumed).
      const std::string forced = o.device == "cuda" ? "cuda" : "cpu";
      const nlohmann::json ran_on = row.value("device", nlohmann::json(forced));
      const nlohmann::json ran_on_name =
          row.value("device_name", nlohmann::json(forced == "cpu" ? cpu_name : std::string("unknown")));
      row.update(identity_columns(c));
      row.update(env);
      row["device"] = ran_on;
      row["device_name"] = ran_on_name;
      row["run_id"] = run_id;
      row["timestamp"] = utc_timestamp();
      file.append(row);
      progress.finish_case(outcome_text(row));
      rows.push_back(std::move(row));
    }
    if (!o.quiet) print_summary(rows);
    std::printf("%zu cases: %zu written, %zu already in the file; results: %s\n", plan.sweep.cases.size(), rows.size(),
                already, output.c_str());
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
