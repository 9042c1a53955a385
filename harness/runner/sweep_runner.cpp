#include "harness/runner/sweep_runner.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "harness/core/errors.hpp"
#include "harness/core/variant.hpp"
#include "harness/report/columns.hpp"
#include "harness/runner/case_worker.hpp"
#include "harness/runner/device_select.hpp"
#include "harness/runner/environment.hpp"
#include "harness/runner/progress.hpp"
#include "harness/runner/worker_process.hpp"

namespace sb {
namespace fs = std::filesystem;

void assign_devices(std::vector<case_spec>& cases, const std::string& device) {
  validate_device_request(device);
  for (auto& c : cases) {
    const attention_variant* v = variant_registry::instance().find(c.variant);
    if (!v) throw config_error(fmt::format("unknown variant '{}' (registered: {})", c.variant,
                                           variant_registry::instance().names()));
    c.device = resolve_device(device, *v);
  }
}

nlohmann::json identity_columns(const case_spec& c) {
  nlohmann::json row;
  row["case_id"] = c.case_id();
  row["variant"] = c.variant;
  row["params"] = c.params.canonical();
  row["device"] = to_string(c.device);
  row["dtype"] = to_string(c.prob.type);
  row["causal"] = c.prob.causal;
  row["batch"] = c.prob.batch;
  row["heads"] = c.prob.heads;
  row["seq_len"] = c.prob.seq_len;
  row["head_dim"] = c.prob.head_dim;
  row["k"] = c.prob.k ? nlohmann::json(*c.prob.k) : nlohmann::json(nullptr);
  row["dataset"] = c.dataset_label;
  row["seed"] = c.prob.seed;
  row["sweep_index"] = c.sweep_index;
  for (const auto& [name, value] : c.params.values()) row["param_" + name] = to_string(value);
  return row;
}

namespace {

std::string make_run_id() {
  return fmt::format("{}-{}", utc_timestamp(), static_cast<unsigned>(getpid()));
}

nlohmann::json measured_columns(const case_spec& c, const run_options& options, progress_display& progress) {
  const attention_variant* v = variant_registry::instance().find(c.variant);
  if (auto reason = unsupported_reason(*v, c.prob, c.params, c.device)) {
    nlohmann::json row;
    row["status"] = "unsupported";
    row["error"] = *reason;
    row["analytic_mem_bytes"] = v->analytic_memory_bytes(c.prob, c.params);
    row["flops_dense_equiv"] = dense_equivalent_flops(c.prob);
    return row;
  }
  if (!options.isolate) return run_case(c);
  const worker_outcome w =
      run_in_worker(options.worker_exe, c, c.measure.case_timeout_s, [&](double t) { progress.tick(t); });
  nlohmann::json row = w.result ? *w.result : nlohmann::json::object();
  if (!w.result) {
    row["status"] = w.timed_out ? "timeout" : "error";
    row["error"] = w.failure;
  }
  row["case_wall_s"] = w.wall_s;
  return row;
}

std::string case_label(const case_spec& c) {
  return fmt::format("{} {} T={} k={} causal={} {}", c.variant, c.params.canonical(), c.prob.seq_len,
                     c.prob.k ? std::to_string(*c.prob.k) : "-", c.prob.causal, c.dataset_label);
}

std::string outcome_text(const nlohmann::json& row) {
  std::string what = row.value("status", "?");
  if (what == "ok") return fmt::format("ok {:.3f} ms", row.value("latency_ms_median", 0.0));
  if (row.contains("error") && row["error"].is_string()) what += ": " + row["error"].get<std::string>();
  return what;
}

}  // namespace

run_summary run_sweep(sweep_plan plan, const run_options& options) {
  assign_devices(plan.cases, options.device);
  if (options.mode == open_mode::create && fs::exists(options.output) && fs::file_size(options.output) > 0)
    throw config_error(fmt::format("'{}' exists; pass --resume to continue it or --overwrite to replace it",
                                   options.output.string()));
  results_file file(options.output, columns_for(plan.cases), options.mode);
  // Always said, even with --quiet: the file was changed or will lack data.
  if (file.existing().repaired_torn_line)
    std::fprintf(stderr, "seabench: cut an incomplete last line from %s (a case interrupted while writing)\n",
                 options.output.c_str());
  if (!file.dropped_columns().empty())
    std::fprintf(stderr, "seabench: the existing file lacks %zu columns of this sweep; they are left out: %s\n",
                 file.dropped_columns().size(), fmt::format("{}", fmt::join(file.dropped_columns(), ", ")).c_str());

  const nlohmann::json env = environment_columns();
  const std::string run_id = make_run_id();
  std::map<device_kind, std::string> device_names;
  run_summary summary;
  summary.planned = plan.cases.size();
  progress_display progress(plan.cases.size(), options.progress);
  std::size_t index = 0;
  for (const auto& c : plan.cases) {
    ++index;
    if (file.existing().case_ids.count(c.case_id())) {
      ++summary.already_done;
      continue;
    }
    progress.start_case(index, case_label(c));
    nlohmann::json row = measured_columns(c, options, progress);
    row.update(identity_columns(c));
    row.update(env);
    // GPU workers report their device themselves; the parent must not create a CUDA context, which
    // would hold device memory for the whole sweep and skew every worker's free-memory numbers.
    if (!row.contains("device_name") && c.device == device_kind::cpu) {
      if (!device_names.count(c.device)) device_names[c.device] = device_name(c.device);
      row["device_name"] = device_names[c.device];
    }
    row["run_id"] = run_id;
    row["timestamp"] = utc_timestamp();
    file.append(row);
    ++summary.by_status[row.value("status", "error")];
    progress.finish_case(outcome_text(row));
    summary.rows.push_back(std::move(row));
  }
  return summary;
}

}  // namespace sb
