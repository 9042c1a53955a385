#include "harness/runner/result_columns.hpp"

#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/metrics/sample_stats.hpp"

namespace sb {
namespace {
template <typename T>
nlohmann::json optional_json(const std::optional<T>& x) {
  return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
}
}  // namespace

void add_latency_columns(nlohmann::json& row, std::span<const double> ms, const std::string& stop_reason,
                         double flops_executed) {
  const sample_stats s = summarize(ms);
  row["latency_ms_median"] = s.median;
  row["latency_ms_p10"] = s.p10;
  row["latency_ms_p90"] = s.p90;
  row["latency_ms_mean"] = s.mean;
  row["latency_rel_stdev"] = s.rel_stdev;
  row["samples"] = s.count;
  row["stop_reason"] = stop_reason;
  if (s.median > 0) row["gflops_per_s"] = flops_executed / (s.median * 1e-3) / 1e9;
}

void add_extra_medians(nlohmann::json& row, const std::map<std::string, std::vector<double>>& extras) {
  for (const auto& [name, values] : extras) row[name] = summarize(values).median;
}

void add_accuracy_columns(nlohmann::json& row, const accuracy_report& acc) {
  row["rel_err"] = acc.rel_err;
  row["cos_sim"] = acc.cos_sim;
  row["cos_sim_p10"] = acc.cos_sim_p10;
  row["max_abs_err"] = acc.max_abs_err;
  row["mass_recall"] = optional_json(acc.mass_recall);
  row["mass_recall_p10"] = optional_json(acc.mass_recall_p10);
  row["topk_recall"] = optional_json(acc.topk_recall);
  // Variants without a support may report keys_per_query themselves (as an extra); the measured
  // support wins when there is one.
  if (acc.keys_per_query) row["keys_per_query"] = *acc.keys_per_query;
  row["keys_per_query_max"] = optional_json(acc.keys_per_query_max);
  row["ref_rows"] = acc.ref_rows;
  row["nonfinite_outputs"] = acc.nonfinite_outputs;
  if (acc.future_keys > 0)
    throw std::runtime_error(fmt::format("variant attended {} future keys in a causal case", acc.future_keys));
  row["status"] = acc.nonfinite_outputs > 0 ? "error" : "ok";
  if (acc.nonfinite_outputs > 0) row["error"] = fmt::format("{} non-finite output values", acc.nonfinite_outputs);
}

}  // namespace sb
