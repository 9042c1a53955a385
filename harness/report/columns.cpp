#include "harness/report/columns.hpp"

#include <algorithm>

#include "harness/core/variant.hpp"

namespace sb {

const std::vector<std::string>& core_columns() {
  static const std::vector<std::string> columns = {
      // identity
      "case_id", "variant", "params", "device", "device_name", "dtype", "causal", "batch", "heads", "seq_len",
      "head_dim", "k", "dataset", "seed", "status", "error",
      // timing
      "latency_ms_median", "latency_ms_p10", "latency_ms_p90", "latency_ms_mean", "latency_rel_stdev", "samples",
      "stop_reason", "cpu_time_ms_median", "threads", "l2",
      // memory
      "peak_mem_bytes", "analytic_mem_bytes", "process_peak_rss_bytes", "oom_requested_bytes",
      "peak_mem_reserved_bytes", "device_mem_delta_bytes",
      // work
      "flops_dense_equiv", "flops_executed", "gflops_per_s",
      // accuracy
      "rel_err", "cos_sim", "cos_sim_p10", "max_abs_err", "mass_recall", "mass_recall_p10", "topk_recall",
      "keys_per_query", "keys_per_query_max", "ref_rows", "reference", "nonfinite_outputs",
      // environment
      "git_sha", "timestamp", "host", "cpu_model", "compiler", "build_type", "seabench_version", "run_id",
      "sweep_index", "case_wall_s",
      // GPU environment (empty on the CPU; NVML columns empty without NVML)
      "compute_capability", "sm_count", "l2_cache_bytes", "cuda_runtime", "driver", "driver_cuda_version",
      "cublas_version", "sm_clock_mhz_start", "sm_clock_mhz_end", "throttled", "tf32"};
  return columns;
}

std::vector<std::string> columns_for(const std::vector<case_spec>& cases) {
  std::vector<std::string> columns = core_columns();
  auto add = [&](const std::string& c) {
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  };
  std::vector<std::string> seen_variants;
  for (const auto& c : cases) {
    if (std::find(seen_variants.begin(), seen_variants.end(), c.variant) != seen_variants.end()) continue;
    seen_variants.push_back(c.variant);
    if (const auto* v = variant_registry::instance().find(c.variant))
      for (const auto& e : v->extra_columns()) add(e);
  }
  for (const auto& name : seen_variants)
    if (const auto* v = variant_registry::instance().find(name)) {
      const param_schema schema = v->parameters();  // keep the temporary alive for the loop
      for (const auto& spec : schema.specs()) add("param_" + spec.name);
    }
  return columns;
}

}  // namespace sb
